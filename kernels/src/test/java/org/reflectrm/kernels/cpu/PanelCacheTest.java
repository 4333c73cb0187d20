package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

/** Which weights get panels: one per weight segment object, within the budget, BF16 or 8-bit. */
class PanelCacheTest {
    private static final int N = 64, K = 32;

    private static MemorySegment weight(Arena arena, float value) {
        MemorySegment w = arena.allocate(2L * N * K, 64);
        short bits = (short) (Float.floatToRawIntBits(value) >>> 16);
        for (int i = 0; i < N * K; i++) {
            w.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
        }
        return w;
    }

    @Test
    void aWeightIsPackedOnceAndTheBudgetIsKept() {
        try (Arena arena = Arena.ofConfined()) {
            PanelCache cache = new PanelCache(2L * N * K);
            MemorySegment first = weight(arena, 1f), second = weight(arena, 2f);
            Panels p = cache.get(first, 0, DType.BF16, N, K);
            assertSame(p, cache.get(first, 0, DType.BF16, N, K), "the same weight again: the same panels");
            assertNull(cache.get(second, 0, DType.BF16, N, K), "over the budget: the row kernel stays");
            assertNull(new PanelCache(0).get(first, 0, DType.BF16, N, K), "a budget of 0 turns panels off");
        }
    }

    /**
     * Another segment object over the same memory (a model closed and another mapped at the same
     * address looks like this) gets its own panels, packed from what the memory holds now.
     */
    @Test
    void anotherSegmentAtTheSameAddressIsPackedAfresh() {
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(1)) {
            PanelCache cache = new PanelCache(1L << 20);
            MemorySegment w = weight(arena, 1f);
            Panels before = cache.get(w, 0, DType.BF16, N, K);
            MemorySegment again = w.asSlice(0);
            again.copyFrom(weight(arena, 3f));
            Panels after = cache.get(again, 0, DType.BF16, N, K);
            assertNotSame(before, after);
            MemorySegment a = arena.allocate(4L * 3 * K, 64);
            for (int i = 0; i < 3 * K; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
            }
            MemorySegment c = arena.allocate(4L * 3 * N, 64);
            cpu.matmul(a, 0, after, c, 0, 3);
            assertEquals(3f * K, c.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
        }
    }

    /**
     * 8-bit weights get 8-bit panels, charged at their own size (1.125 bytes a value, not BF16's
     * 2), and a weight at another offset of the same segment is another weight.
     */
    @Test
    void eightBitWeightsArePackedAtTheirOwnSize() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[2 * N * K];
            java.util.Arrays.fill(values, 0.5f);
            MemorySegment w = arena.allocate(Q8Format.bytes(values.length), 64);
            Q8Format.quantize(values, 0, values.length, w, 0);
            long bytes = Q8Format.bytes((long) N * K);
            PanelCache cache = new PanelCache(2 * bytes);
            Panels p = cache.get(w, 0, DType.Q8, N, K);
            assertInstanceOf(Q8Panels.class, p);
            assertSame(p, cache.get(w, 0, DType.Q8, N, K));
            assertEquals(bytes, cache.usedBytes());
            assertNotSame(p, cache.get(w, (long) N * K, DType.Q8, N, K), "the second half of the segment");
            assertEquals(2 * bytes, cache.usedBytes());
            assertNull(cache.get(w, 0, DType.BF16, N, K), "another type at the same place is not these panels");
        }
    }
}
