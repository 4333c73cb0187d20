package org.reflectrm.model.generate;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** Generation through the one model definition on an NVIDIA GPU. */
class CudaGenerationTest extends DeviceGenerationContract {
    @Override
    protected Device open() {
        return TestDevices.cuda();
    }
}
