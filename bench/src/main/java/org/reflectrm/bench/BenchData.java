package org.reflectrm.bench;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.reflectrm.kernels.Q8Format;

/** Random operands for the benchmarks, in native memory (as the model keeps its tensors). */
final class BenchData {
    private BenchData() {
    }

    /** n F32 values, uniform in [-1, 1). */
    static MemorySegment f32(Arena arena, long n, long seed) {
        MemorySegment s = arena.allocate(4 * n, 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(JAVA_FLOAT, i, (float) (rnd.nextDouble() * 2 - 1));
        }
        return s;
    }

    /** n BF16 values, uniform in [-1, 1) truncated to BF16 (the top half of the F32 bits). */
    static MemorySegment bf16(Arena arena, long n, long seed) {
        MemorySegment s = arena.allocate(2 * n, 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < n; i++) {
            float v = (float) (rnd.nextDouble() * 2 - 1);
            s.setAtIndex(JAVA_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
        }
        return s;
    }

    /** n values uniform in [-1, 1), in the 8-bit block format ({@link Q8Format}); n a multiple of 32. */
    static MemorySegment q8(Arena arena, long n, long seed) {
        MemorySegment s = arena.allocate(Q8Format.bytes(n), 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] block = new float[Q8Format.BLOCK];
        for (long b = 0; b < n / Q8Format.BLOCK; b++) {
            for (int i = 0; i < block.length; i++) {
                block[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            Q8Format.quantize(block, 0, block.length, s, b * Q8Format.BLOCK_BYTES);
        }
        return s;
    }
}
