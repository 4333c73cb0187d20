package org.reflectrm.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread native F32 buffers, grown on demand and kept, so kernels that need work space per
 * call or per task do not allocate each time. Each instance is a separate set of buffers: a
 * kernel uses one for the calling thread's per-call buffers and another for per-task buffers,
 * since the calling thread also runs tasks.
 *
 * <p>Native rather than heap arrays: the buffers go through {@link PackedGemm} and the
 * {@link Lanes} loads and stores like every other operand, and a heap segment there once made C2
 * fall back to element-by-element vector stores (and would give those shared call sites a second
 * segment type to handle).
 */
final class Scratch {
    private final int count;
    private final ThreadLocal<MemorySegment[]> buffers;

    Scratch(int count) {
        this.count = count;
        this.buffers = ThreadLocal.withInitial(() -> new MemorySegment[this.count]);
    }

    /**
     * This thread's buffer {@code which}, holding at least {@code floats} floats; contents are
     * left over from earlier use. A buffer that is outgrown is freed by the garbage collector.
     */
    MemorySegment get(int which, long floats) {
        MemorySegment[] mine = buffers.get();
        if (mine[which] == null || mine[which].byteSize() < floats * 4) {
            mine[which] = Arena.ofAuto().allocate(Math.max(floats, 1024) * 4, 64);
        }
        return mine[which];
    }
}
