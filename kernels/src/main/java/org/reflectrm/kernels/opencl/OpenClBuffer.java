package org.reflectrm.kernels.opencl;

import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * A {@code cl_mem} of an {@link OpenClDevice}. Closing releases it; OpenCL defers the actual free
 * until the kernels already queued on it have run, so closing right after a launch is safe.
 * Closing twice is harmless. Not thread-safe, like the device.
 */
final class OpenClBuffer implements DeviceBuffer {
    private final OpenCl cl;
    private final OpenClDevice owner;
    private final long bytes;
    private MemorySegment mem;

    OpenClBuffer(OpenCl cl, OpenClDevice owner, MemorySegment mem, long bytes) {
        this.cl = cl;
        this.owner = owner;
        this.mem = mem;
        this.bytes = bytes;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public void read(long byteOffset, MemorySegment dst) {
        owner.download(this, byteOffset, dst);
    }

    @Override
    public void write(MemorySegment src, long byteOffset) {
        owner.upload(src, this, byteOffset);
    }

    OpenClDevice owner() {
        return owner;
    }

    /** The cl_mem handle; a closed buffer is a programming error, reported as such. */
    MemorySegment handle() {
        if (mem == null) {
            throw new IllegalStateException("OpenCL buffer of " + bytes + " bytes is closed");
        }
        return mem;
    }

    @Override
    public void close() {
        if (mem != null) {
            MemorySegment m = mem;
            mem = null;
            owner.allocations().freed(bytes);
            OpenCl.check(cl.releaseMemObject(m), "clReleaseMemObject");
        }
    }

    @Override
    public String toString() {
        return "OpenClBuffer[" + bytes + " bytes" + (mem == null ? ", closed]" : "]");
    }
}
