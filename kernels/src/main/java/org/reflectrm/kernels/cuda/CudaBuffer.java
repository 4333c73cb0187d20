package org.reflectrm.kernels.cuda;

import org.reflectrm.kernels.device.DeviceBuffer;

/** Device memory from {@code cuMemAlloc}; closing it frees the memory (once). */
final class CudaBuffer implements DeviceBuffer {
    private final Gpu gpu;
    private final long address;
    private final long bytes;
    private boolean closed;

    CudaBuffer(Gpu gpu, long address, long bytes) {
        this.gpu = gpu;
        this.address = address;
        this.bytes = bytes;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    /** The device address, for a kernel of the device that allocated it. */
    long address(Gpu owner) {
        if (owner != gpu) {
            throw new IllegalArgumentException("buffer " + this + " belongs to another device");
        }
        if (closed) {
            throw new IllegalStateException("buffer " + this + " is closed");
        }
        return address;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            gpu.free(address);
        }
    }

    @Override
    public String toString() {
        return "CudaBuffer[" + bytes + " bytes at 0x" + Long.toHexString(address) + "]";
    }
}
