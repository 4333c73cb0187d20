package org.reflectrm.tensor;

import java.lang.foreign.MemorySegment;

/** Where ops get memory for their results. */
public interface Allocator {
    /** Zeroed or garbage memory of at least {@code bytes}, 64-byte aligned; callers overwrite it. */
    MemorySegment allocate(long bytes);
}
