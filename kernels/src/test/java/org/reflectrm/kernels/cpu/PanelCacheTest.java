package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Which weights get panels: one per weight segment object, within the budget. */
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
            Bf16Panels p = cache.get(first, 0, N, K);
            assertSame(p, cache.get(first, 0, N, K), "the same weight again: the same panels");
            assertNull(cache.get(second, 0, N, K), "over the budget: the row kernel stays");
            assertNull(new PanelCache(0).get(first, 0, N, K), "a budget of 0 turns panels off");
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
            Bf16Panels before = cache.get(w, 0, N, K);
            MemorySegment again = w.asSlice(0);
            again.copyFrom(weight(arena, 3f));
            Bf16Panels after = cache.get(again, 0, N, K);
            assertNotSame(before, after);
            MemorySegment a = arena.allocate(4L * 3 * K, 64);
            for (int i = 0; i < 3 * K; i++) {
                a.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
            }
            MemorySegment c = arena.allocate(4L * 3 * N, 64);
            cpu.matmul(a, 0, after, c, 0, 3);
            org.junit.jupiter.api.Assertions.assertEquals(3f * K, c.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
        }
    }
}
