package org.reflectrm.model.device;

import org.reflectrm.kernels.device.Device;

/** The device-resident forward on OpenCL (PoCL in CI); see {@link TestDevices#openCl}. */
class OpenClForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        return TestDevices.openCl();
    }
}
