package org.reflectrm.model.generate;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** Generation through the one model definition on OpenCL (PoCL in CI). */
class OpenClGenerationTest extends DeviceGenerationContract {
    @Override
    protected Device open() {
        return TestDevices.openCl();
    }
}
