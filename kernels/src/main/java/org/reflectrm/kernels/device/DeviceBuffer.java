package org.reflectrm.kernels.device;

import java.lang.foreign.MemorySegment;

/**
 * A block of memory on a {@link Device}. Closing it frees the memory; a closed buffer must not be
 * passed to a kernel again. Buffers are owned by whoever allocated them (try-with-resources or an
 * owner's {@code close}).
 */
public interface DeviceBuffer extends AutoCloseable {

    /** Size in bytes. */
    long bytes();

    /**
     * Copies {@code dst.byteSize()} bytes from {@code byteOffset} to host memory, after the work
     * queued on the buffer's device: {@link Device#download}, for code that holds a buffer but
     * not its device (a tensor reading an element).
     */
    void read(long byteOffset, MemorySegment dst);

    /** Copies all of {@code src} to {@code byteOffset}: {@link Device#upload}, as {@link #read} is a download. */
    void write(MemorySegment src, long byteOffset);

    @Override
    void close();
}
