package org.reflectrm.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

/**
 * 8-bit weights: the quantiser against the format's definition, and the CPU linear layer on Q8
 * weights against a double-precision product with weights dequantised here, from the raw bytes
 * (quants then a little-endian F32 scale per 32 values), not through the code under test.
 */
class Q8MatmulTest {
    private static Backend one;
    private static Backend two;

    @BeforeAll
    static void start() {
        one = new CpuBackend(1);
        two = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        one.close();
        two.close();
    }

    private static MemorySegment quantized(Arena arena, float[] v) {
        MemorySegment seg = arena.allocate(Q8Format.bytes(v.length) + 64);
        Q8Format.quantize(v, 0, v.length, seg, 0);
        return seg;
    }

    @Test
    void quantiserMapsEachBlockMaximumToPlusMinus127AndErrsByAtMostHalfAStep() {
        Random rnd = new Random(3);
        float[] v = Ref.gaussian(rnd, 32 * 40);
        for (int i = 64; i < 96; i++) {
            v[i] = 0; // an all-zero block
        }
        v[100] = -7.5f; // a negative block maximum
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = quantized(arena, v);
            float[] back = Ref.dequantizeQ8(seg, v.length);
            for (int b = 0; b < v.length / 32; b++) {
                float max = 0;
                int at = 0;
                for (int i = 0; i < 32; i++) {
                    if (Math.abs(v[b * 32 + i]) > max) {
                        max = Math.abs(v[b * 32 + i]);
                        at = b * 32 + i;
                    }
                }
                float step = max / 127f;
                for (int i = b * 32; i < b * 32 + 32; i++) {
                    assertTrue(Math.abs(back[i] - v[i]) <= step / 2 * 1.0001 + 1e-7,
                            "value " + i + ": " + v[i] + " came back as " + back[i]);
                    assertEquals(back[i], Q8Format.get(seg, i), "element access " + i);
                }
                if (max > 0) {
                    assertEquals(v[at] > 0 ? 127 : -127, seg.get(JAVA_BYTE, b * 36L + at % 32), "block " + b);
                }
            }
            assertEquals(0f, back[70]);
            assertEquals(-7.5f, back[100], 1e-6);
        }
    }

    @Test
    void quantiserRefusesNonFiniteValuesAndPartialBlocks() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(64);
            float[] v = new float[32];
            v[5] = Float.NaN;
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Q8Format.quantize(v, 0, 32, seg, 0))
                    .getMessage().contains("element 5"));
            assertThrows(IllegalArgumentException.class, () -> Q8Format.quantize(new float[40], 0, 40, seg, 0));
            assertThrows(IllegalStateException.class, () -> DType.Q8.byteSize());
            assertEquals(72, DType.Q8.bytes(64));
        }
    }

    /**
     * m, n, k: decode (dot path, one row and batches, odd and even), and prefill (packed path).
     * With n a multiple of 32 the weights are repacked into panels ({@link Q8Panels}): batched
     * decode {2, 64, 64}, {3, 64, 96}, {9, 96, 64}, {31, 160, 320} (without accumulate; with it
     * the dot path),
     * and prefill packing from panels {40, 64, 1088} (two kc panels of depth) and {70, 160, 320}.
     */
    private static final int[][] SIZES = {
            {1, 37, 64}, {1, 2500, 128}, {2, 5, 32}, {3, 45, 96}, {8, 67, 1024}, {17, 300, 160}, {33, 70, 320},
            {70, 131, 608}, {2, 64, 64}, {3, 64, 96}, {9, 96, 64}, {31, 160, 320}, {40, 64, 1088}, {70, 160, 320},
    };

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (int[] s : SIZES) {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    for (int threads : new int[] {1, 2}) {
                        all.add(Arguments.of(s[0], s[1], s[2], transA, acc, threads));
                    }
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} acc={4} threads={5}")
    @MethodSource("cases")
    void linearOnQ8WeightsMatchesTheDequantisedProduct(int m, int n, int k, boolean transA, boolean acc, int threads) {
        check((a, w, c) -> (threads == 1 ? one : two).matmul(a, 3, transA, w, 32, DType.Q8, true, c, 2, m, n, k, acc),
                m, n, k, transA, acc);
    }

    /**
     * Depth panels of 7 values: the packed path dequantises partial blocks at both ends of a
     * panel, from the row layout (n = 50) and from {@link Q8Panels} (n = 64).
     */
    @ParameterizedTest(name = "n={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {50, 64})
    void packedPathWithPanelsThatCutBlocks(int n) {
        try (Parallel parallel = new Parallel(2)) {
            CpuMatmul mm = new CpuMatmul(parallel, new PackedGemm.Blocking(7, PackedGemm.MR * 2, PackedGemm.NR * 2));
            for (boolean acc : new boolean[] {false, true}) {
                check((a, w, c) -> mm.matmul(a, 3, false, w, 32, DType.Q8, true, c, 2, 37, n, 96, acc), 37, n, 96, false, acc);
            }
        }
    }

    private interface Product {
        void run(MemorySegment a, MemorySegment w, MemorySegment c);
    }

    private static void check(Product product, int m, int n, int k, boolean transA, boolean acc) {
        Random rnd = new Random(m * 31L + n * 7L + k);
        try (Arena arena = Arena.ofShared()) {
            float[] av = Ref.gaussian(rnd, m * k);
            float[] wv = Ref.gaussian(rnd, 32 + n * k); // one leading block, so the weights start at offset 32
            MemorySegment w = quantized(arena, wv);
            float[] wq = Ref.dequantizeQ8(w, wv.length);
            float[] c0 = Ref.gaussian(rnd, m * n);
            MemorySegment a = Ref.f32(arena, av, 3);
            MemorySegment c = Ref.f32(arena, c0, 2);
            product.run(a, w, c);
            double[] want = new double[m * n];
            double[] scale = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = acc ? c0[i * n + j] : 0;
                    double mag = Math.abs(sum);
                    for (int p = 0; p < k; p++) {
                        double t = (double) av[transA ? p * m + i : i * k + p] * wq[32 + j * k + p];
                        sum += t;
                        mag += Math.abs(t);
                    }
                    want[i * n + j] = sum;
                    scale[i * n + j] = mag;
                }
            }
            Ref.assertClose(want, scale, Ref.read(c, 2, m * n), Ref.TOL, "Q8 matmul m=" + m + " n=" + n + " k=" + k);
            assertEquals(Float.NaN, Ref.read(c, 2 + (long) m * n, 1)[0], "wrote past C");
        }
    }

    @Test
    void refusesLayoutsThatCutBlocks() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate(36 * 8);
            MemorySegment a = arena.allocate(4 * 64);
            MemorySegment c = arena.allocate(4 * 64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> two.matmul(a, 0, false, w, 0, DType.Q8, false, c, 0, 1, 2, 32, false));
            assertTrue(e.getMessage().contains("gradients through 8-bit weights"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> two.matmul(a, 0, false, w, 0, DType.Q8, true, c, 0, 1, 2, 48, false));
            assertTrue(e.getMessage().contains("row length 48"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> two.matmul(a, 0, false, w, 16, DType.Q8, true, c, 0, 1, 2, 32, false));
        }
    }

    @Test
    void embeddingRowsOfQ8TablesAreDequantised() {
        Random rnd = new Random(9);
        try (Arena arena = Arena.ofShared()) {
            float[] table = Ref.gaussian(rnd, 5 * 64);
            MemorySegment t = quantized(arena, table);
            float[] tq = Ref.dequantizeQ8(t, table.length);
            MemorySegment out = arena.allocate(4L * 2 * 64);
            two.embedding(t, 0, DType.Q8, 64, new int[] {3, 1}, out, 0);
            float[] got = Ref.read(out, 0, 128);
            for (int i = 0; i < 64; i++) {
                assertEquals(tq[3 * 64 + i], got[i]);
                assertEquals(tq[64 + i], got[64 + i]);
            }
        }
    }
}
