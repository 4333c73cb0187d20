package org.reflectrm.kernels.device;

/**
 * A block of memory on a {@link Device}. Closing it frees the memory; a closed buffer must not be
 * passed to a kernel again. Buffers are owned by whoever allocated them (try-with-resources or an
 * owner's {@code close}).
 */
public interface DeviceBuffer extends AutoCloseable {

    /** Size in bytes. */
    long bytes();

    @Override
    void close();
}
