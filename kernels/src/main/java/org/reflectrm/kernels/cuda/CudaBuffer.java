package org.reflectrm.kernels.cuda;

import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.device.DeviceBuffer;

/** Device memory from {@code cuMemAlloc}; closing it frees the memory (once). */
final class CudaBuffer implements DeviceBuffer {
    private final Gpu gpu;
    /** The device that allocated it, for {@link #read} and {@link #write}; null for a device's own scratch. */
    private final CudaDevice owner;
    private final long address;
    private final long bytes;
    private boolean closed;

    CudaBuffer(Gpu gpu, CudaDevice owner, long address, long bytes) {
        this.gpu = gpu;
        this.owner = owner;
        this.address = address;
        this.bytes = bytes;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public void read(long byteOffset, MemorySegment dst) {
        requireOwner().download(this, byteOffset, dst);
    }

    @Override
    public void write(MemorySegment src, long byteOffset) {
        requireOwner().upload(src, this, byteOffset);
    }

    private CudaDevice requireOwner() {
        if (owner == null) {
            throw new IllegalStateException("buffer " + this + " is a device's internal scratch");
        }
        return owner;
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
            if (owner != null) {
                owner.allocations().freed(bytes);
            }
        }
    }

    @Override
    public String toString() {
        return "CudaBuffer[" + bytes + " bytes at 0x" + Long.toHexString(address) + "]";
    }
}
