package org.reflectrm.model.train;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** Training on an NVIDIA GPU through CUDA. */
class CudaTrainingTest extends DeviceTrainingContract {
    @Override
    protected Device open() {
        return TestDevices.cuda();
    }
}
