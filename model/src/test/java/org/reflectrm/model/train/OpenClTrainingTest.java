package org.reflectrm.model.train;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.device.TestDevices;

/** Training on OpenCL (PoCL in CI). */
class OpenClTrainingTest extends DeviceTrainingContract {
    @Override
    protected Device open() {
        return TestDevices.openCl();
    }
}
