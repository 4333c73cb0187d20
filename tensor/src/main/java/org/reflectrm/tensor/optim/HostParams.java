package org.reflectrm.tensor.optim;

import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;

/**
 * The device of parameters given as plain host segments (the optimizers' and {@link GradClip}'s
 * constructors without a device): the CPU kernels on the calling thread, as these loops ran
 * before they went through the device SPI.
 */
final class HostParams {
    /** One thread: no helper threads, so nothing ever needs closing. */
    private static final Backend CALLING_THREAD = new CpuBackend(1, 0);

    private HostParams() {
    }

    static Device device() {
        return new HostDevice(CALLING_THREAD);
    }
}
