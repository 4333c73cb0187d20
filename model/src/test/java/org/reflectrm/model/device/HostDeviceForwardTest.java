package org.reflectrm.model.device;

import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;

/**
 * The forward a GPU runs (fused kernels, recorded decode steps) on host memory: checks it, and
 * its plumbing, on any machine.
 */
class HostDeviceForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        return new HostDevice(new CpuBackend(2), true);
    }
}
