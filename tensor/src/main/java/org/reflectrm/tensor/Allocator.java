package org.reflectrm.tensor;

import java.lang.foreign.MemorySegment;

/** Where ops get memory for their results. */
public interface Allocator {
    /** Zeroed or garbage memory of at least {@code bytes}, 64-byte aligned; callers overwrite it. */
    MemorySegment allocate(long bytes);

    /**
     * A position to {@link #release} back to. Allocators that cannot reuse memory early (an
     * arena that must keep activations for a backward pass) return any value and ignore release.
     */
    default long mark() {
        return 0;
    }

    /**
     * Makes everything allocated since {@code mark} reusable; tensors allocated after the mark
     * must not be used afterwards. Allocators that cannot reuse memory early do nothing.
     */
    default void release(long mark) {
    }
}
