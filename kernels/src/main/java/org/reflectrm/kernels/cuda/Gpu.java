package org.reflectrm.kernels.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaDevice} needs from a GPU: memory, copies and launches in order on one stream.
 * {@link CudaContext} is the driver-backed one; tests put a recorder here to check every launch's
 * arguments and grid on machines without a GPU.
 */
interface Gpu extends AutoCloseable {

    String description();

    long memoryBytes();

    /** Zero-filled device memory of {@code bytes > 0} bytes; returns its address. */
    long allocate(long bytes);

    void free(long address);

    /** Copies all of native {@code src} to device address {@code dst}, ordered after queued work; src is free on return. */
    void upload(MemorySegment src, long dst);

    /** Waits for queued work, then copies {@code dst.byteSize()} bytes from device address {@code src} into native {@code dst}. */
    void download(long src, MemorySegment dst);

    void synchronize();

    /**
     * Whether the loaded kernels have tensor cores: the Hopper PTX (compute capability 9.0 or
     * newer), whose BF16 GEMMs use {@code mma.sync}; the portable PTX's are traps.
     */
    default boolean tensorCores() {
        return false;
    }

    /** Queues {@code kernel} with {@code args} on a 1-D block of {@code block} threads. */
    void launch(Kernel kernel, int gridX, int gridY, int gridZ, int block, KernelArgs args);

    /** Starts recording the stream's launches instead of running them (stream capture). */
    default void beginCapture() {
        throw new UnsupportedOperationException("this GPU cannot record launches");
    }

    /** Ends the recording; returns the executable graph. */
    default MemorySegment endCapture() {
        throw new UnsupportedOperationException("this GPU cannot record launches");
    }

    /** Queues one replay of a graph from {@link #endCapture}. */
    default void launchGraph(MemorySegment graph) {
        throw new UnsupportedOperationException("this GPU cannot record launches");
    }

    default void destroyGraph(MemorySegment graph) {
        throw new UnsupportedOperationException("this GPU cannot record launches");
    }

    @Override
    void close();
}
