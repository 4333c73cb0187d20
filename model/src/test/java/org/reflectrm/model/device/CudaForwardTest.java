package org.reflectrm.model.device;

import org.reflectrm.kernels.device.Device;

/** The device-resident forward on an NVIDIA GPU through CUDA; see {@link TestDevices#cuda}. */
class CudaForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        return TestDevices.cuda();
    }
}
