package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.reflectrm.kernels.DType;

/**
 * BF16 and F16 widening must be exact for all 65536 bit patterns, subnormals, signed zeros and
 * infinities included, and NaN must stay NaN. The reference is a bit shift (BF16) and the JDK's
 * {@link Float#float16ToFloat} (F16).
 */
class WideningTest {
    private static final int PATTERNS = 1 << 16;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void vectorLoadsAreExact(DType type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = allPatterns(arena);
            float[] got = new float[PATTERNS];
            for (int i = 0; i < PATTERNS; i += Lanes.L) {
                Lanes.load(type, all, i).intoArray(got, i);
            }
            assertExact(type, got, "vector " + type);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void scalarLoadsAreExact(DType type) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = allPatterns(arena);
            float[] got = new float[PATTERNS];
            for (int i = 0; i < PATTERNS; i++) {
                got[i] = Lanes.scalar(type, all, i);
            }
            assertExact(type, got, "scalar " + type);
        }
    }

    /** The even/odd split of a BF16 pair used by the decode kernels: exact as well. */
    @org.junit.jupiter.api.Test
    void bf16PairSplitIsExact() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = allPatterns(arena);
            float[] got = new float[PATTERNS];
            for (int i = 0; i < PATTERNS; i += 2 * Lanes.L) {
                FloatVector even = Lanes.bf16Even(all, i);
                FloatVector odd = Lanes.bf16Odd(all, i);
                for (int t = 0; t < Lanes.L; t++) {
                    got[i + 2 * t] = even.lane(t);
                    got[i + 2 * t + 1] = odd.lane(t);
                }
            }
            assertExact(DType.BF16, got, "bf16 even/odd");
        }
    }

    /** Through the public API: an embedding table holding every pattern, at an odd offset. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16"})
    void embeddingWidensExactly(DType type) {
        int dim = 256 + 3;
        int rows = (PATTERNS + dim - 1) / dim;
        short[] bits = new short[rows * dim];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = (short) i;
        }
        int[] ids = new int[rows];
        for (int r = 0; r < rows; r++) {
            ids[r] = rows - 1 - r;
        }
        try (Arena arena = Arena.ofShared(); CpuBackend be = new CpuBackend(2)) {
            MemorySegment table = Ref.shorts(arena, bits, 1);
            MemorySegment out = be.allocate(arena, 4L * rows * dim);
            be.embedding(table, 1, type, dim, ids, out, 0);
            float[] got = Ref.read(out, 0, rows * dim);
            float[] inOrder = new float[PATTERNS];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < dim; j++) {
                    int pattern = ids[r] * dim + j;
                    if (pattern < PATTERNS) {
                        inOrder[pattern] = got[r * dim + j];
                    }
                }
            }
            assertExact(type, inOrder, "embedding " + type);
        }
    }

    private static MemorySegment allPatterns(Arena arena) {
        short[] bits = new short[PATTERNS];
        for (int i = 0; i < PATTERNS; i++) {
            bits[i] = (short) i;
        }
        return Ref.shorts(arena, bits, 0);
    }

    private static void assertExact(DType type, float[] got, String what) {
        int nans = 0;
        for (int i = 0; i < PATTERNS; i++) {
            float want = Ref.widen(type, (short) i);
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got[i]), what + ": NaN pattern 0x" + Integer.toHexString(i) + " became " + got[i]);
                nans++;
            } else if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got[i])) {
                fail(String.format("%s: pattern 0x%04x widened to %s (0x%08x), expected %s (0x%08x)", what, i,
                        got[i], Float.floatToRawIntBits(got[i]), want, Float.floatToRawIntBits(want)));
            }
        }
        // Both formats have 2 · (2^mantissaBits - 1) NaN patterns.
        assertTrue(nans == (type == DType.BF16 ? 2 * 127 : 2 * 1023), what + ": NaN count " + nans);
    }
}
