package org.reflectrm.model.train;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** SFT on OpenCL (PoCL in CI) against the CPU. */
class OpenClSftTest extends DeviceSftContract {
    @Override
    protected Device open() {
        return TestDevices.openCl();
    }
}
