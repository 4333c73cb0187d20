package org.reflectrm.kernels.device;

/**
 * Bytes of device memory held through {@link Device#allocate}, now and at the most since the
 * device opened (what a training or inference run needs of the device, the figure PyTorch
 * reports as {@code max_memory_allocated}). Device implementations count each buffer when they
 * allocate it and when it is closed. Thread-safe.
 */
public final class Allocations {
    private long live;
    private long peak;

    /** A buffer of {@code bytes} was allocated. */
    public synchronized void allocated(long bytes) {
        live += bytes;
        peak = Math.max(peak, live);
    }

    /** A buffer of {@code bytes} was freed. */
    public synchronized void freed(long bytes) {
        live -= bytes;
    }

    /** Bytes held now. */
    public synchronized long live() {
        return live;
    }

    /** Starts a new peak from what is held now (to measure one phase of a run). */
    public synchronized void resetPeak() {
        peak = live;
    }

    /** The most bytes held at once so far (since the last {@link #resetPeak}). */
    public synchronized long peak() {
        return peak;
    }
}
