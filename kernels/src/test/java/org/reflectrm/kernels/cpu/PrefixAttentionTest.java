package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.AttentionShape;

/**
 * Attention against a shared prefix cache plus an own cache equals attention against the two
 * concatenated (itself checked against a double-precision reference in {@link AttentionTest}),
 * on the per-row path (few tokens) and the blocked one (many), for prefixes shorter and longer
 * than a key block. The own cache's slots past the last position and the prefix cache's slots
 * past the prefix hold NaN, so reading the wrong side of the split poisons the result.
 */
class PrefixAttentionTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @ParameterizedTest(name = "tokens={0} prefix={1} start={2} heads={3}/{4} d={5}")
    @CsvSource({
        "1, 1, 1, 4, 2, 64", "1, 17, 40, 4, 4, 64", "3, 64, 64, 8, 2, 128", "1, 100, 250, 16, 8, 128",
        "20, 17, 17, 4, 2, 64", "40, 64, 70, 8, 2, 128", "33, 130, 130, 4, 1, 32"})
    void matchesTheConcatenatedCache(int tokens, int prefix, int start, int heads, int kvHeads, int d) {
        Random rnd = new Random(tokens * 1000L + prefix);
        int stride = kvHeads * d, keys = start + tokens;
        float[] k = Ref.gaussian(rnd, keys * stride), v = Ref.gaussian(rnd, keys * stride);
        float[] q = Ref.gaussian(rnd, tokens * heads * d);
        // The shared prefix cache has room past the prefix (as when it was made for a longer
        // prompt); the own cache holds positions prefix .. keys-1 and some spare slots.
        float[] pk = Ref.nanPadded(Arrays.copyOf(k, prefix * stride), 3 * stride);
        float[] pv = Ref.nanPadded(Arrays.copyOf(v, prefix * stride), 3 * stride);
        float[] ok = Ref.nanPadded(Arrays.copyOfRange(k, prefix * stride, keys * stride), 5 * stride);
        float[] ov = Ref.nanPadded(Arrays.copyOfRange(v, prefix * stride, keys * stride), 5 * stride);
        AttentionShape shape = new AttentionShape(tokens, start, heads, kvHeads, d, (float) (1 / Math.sqrt(d)));
        try (Arena arena = Arena.ofShared()) {
            int n = tokens * heads * d;
            MemorySegment qs = Ref.f32(arena, q, 2), want = Ref.f32(arena, new float[n], 0);
            MemorySegment got = Ref.f32(arena, new float[n], 0);
            backend.attention(qs, 2, Ref.f32(arena, k, 1), 1, Ref.f32(arena, v, 4), 4, want, 0, shape);
            backend.attention(qs, 2, Ref.f32(arena, pk, 3), 3, Ref.f32(arena, pv, 0), 0, prefix,
                    Ref.f32(arena, ok, 5), 5, Ref.f32(arena, ov, 1), 1, got, 0, shape);
            double[] w = new double[n];
            float[] ref = Ref.read(want, 0, n);
            for (int i = 0; i < n; i++) {
                w[i] = ref[i];
            }
            double[] scale = new double[n];
            Arrays.fill(scale, 1.0);
            Ref.assertClose(w, scale, Ref.read(got, 0, n), 1e-5, "prefix attention");
        }
    }

    @Test
    void queriesInsideThePrefixAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(4L * 4096, 64);
            AttentionShape shape = new AttentionShape(1, 3, 2, 2, 32, 0.1f);
            assertThrows(IllegalArgumentException.class,
                    () -> backend.attention(m, 0, m, 0, m, 0, 5, m, 0, m, 0, m, 0, shape));
        }
    }
}
