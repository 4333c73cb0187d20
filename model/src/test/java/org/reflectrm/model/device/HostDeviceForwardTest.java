package org.reflectrm.model.device;

import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;

/** The device-resident forward on host memory: checks the forward's plumbing on any machine. */
class HostDeviceForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        return new HostDevice(new CpuBackend(2));
    }
}
