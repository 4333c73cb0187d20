package org.reflectrm.kernels.device;

import org.reflectrm.kernels.cpu.CpuBackend;

/** The host device meets the contract (it defines it: this guards the contract itself). */
class HostDeviceTest extends RecordingDeviceContract {
    @Override
    protected Device open() {
        return new HostDevice(new CpuBackend(1));
    }
}
