package org.reflectrm.model.train;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** SFT on an NVIDIA GPU through CUDA against the CPU. */
class CudaSftTest extends DeviceSftContract {
    @Override
    protected Device open() {
        return TestDevices.cuda();
    }
}
