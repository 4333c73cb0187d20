package org.reflectrm.kernels.cpu;

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

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code matmul} in every layout, B type and accumulate mode, on 1 and 2 threads, against a
 * double-precision triple loop. Sizes are odd on purpose: k, n not multiples of the vector width
 * or the micro-tile, m = 1 (decode), small m (the dot and axpy paths) and m large enough for the
 * packed path, with k above one cache panel.
 */
class MatmulTest {
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

    /**
     * m, n, k. The larger ones are big enough (over 2^18 multiply-adds) to be split across
     * threads: {1, 2500, 130} and {17, 300, 100} on the dot path, {3, 700, 150} on the axpy path,
     * {70, 131, 600} on the packed path. {4, 33, 80} and {8, 67, 1000} are batched decode on the
     * dot path, with k not a whole number of BF16 pair chunks (80 = 2.5 chunks of 32). With n a
     * multiple of 32, BF16 linear layers run on panels (Bf16Panels): {3, 64, 70} and {9, 96, 33}
     * in batched decode (tile rows past m unused), {40, 64, 1100} and {70, 160, 300} packing the
     * GEMM's B from panels, the first across two kc panels of depth (p0 > 0), split across threads.
     */
    private static final int[][] SIZES = {
            {1, 1, 1}, {1, 37, 19}, {1, 67, 1031}, {1, 2500, 130}, {3, 45, 70}, {3, 700, 150},
            {5, 19, 31}, {5, 100, 257}, {17, 45, 130}, {17, 300, 100}, {33, 70, 300}, {70, 131, 600},
            {4, 33, 80}, {8, 67, 1000}, {3, 64, 70}, {9, 96, 33}, {40, 64, 1100}, {70, 160, 300},
    };

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (int[] s : SIZES) {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                        for (boolean acc : new boolean[] {false, true}) {
                            for (int threads : new int[] {1, 2}) {
                                all.add(Arguments.of(s[0], s[1], s[2], transA, transB, type, acc, threads));
                            }
                        }
                    }
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4} {5} acc={6} threads={7}")
    @MethodSource("cases")
    void matchesReference(int m, int n, int k, boolean transA, boolean transB, DType type, boolean acc, int threads) {
        check(threads == 1 ? one : two, m, n, k, transA, transB, type, acc, new Random(m * 31L + n * 7L + k));
    }

    /**
     * Tiny cache blocks, so a modest problem crosses every blocking boundary of the packed path:
     * several k panels (the first overwrites, later ones add), several row blocks, several column
     * tasks and partial tiles on both edges.
     */
    @ParameterizedTest(name = "transA={0} transB={1} {2} acc={3}")
    @MethodSource("smallBlockingCases")
    void packedPathWithTinyBlocks(boolean transA, boolean transB, DType type, boolean acc) {
        try (Parallel parallel = new Parallel(2)) {
            CpuMatmul mm = new CpuMatmul(parallel, new PackedGemm.Blocking(7, PackedGemm.MR * 2, PackedGemm.NR * 2));
            Random rnd = new Random(5);
            // The last shape has one column block only, so it is split by rows instead.
            for (int[] s : new int[][] {{37, 150, 45}, {40, 2 * PackedGemm.NR, 7}, {33, 1, 20}, {200, 5, 300}}) {
                Problem p = Problem.random(rnd, s[0], s[1], s[2], transA, transB, type, acc);
                mm.matmul(p.a, 3, transA, p.b.seg(), 5, type, transB, p.c, 2, s[0], s[1], s[2], acc);
                p.verify();
            }
        }
    }

    static Stream<Arguments> smallBlockingCases() {
        List<Arguments> all = new ArrayList<>();
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                    for (boolean acc : new boolean[] {false, true}) {
                        all.add(Arguments.of(transA, transB, type, acc));
                    }
                }
            }
        }
        return all.stream();
    }

    @Test
    void emptySumZeroesOrKeepsC() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment c = Ref.f32(arena, new float[] {1, 2, 3, 4, 5, 6}, 0);
            MemorySegment none = arena.allocate(16);
            two.matmul(none, 0, false, none, 0, DType.BF16, true, c, 0, 2, 3, 0, true);
            assertEquals(6f, Ref.read(c, 0, 6)[5]);
            two.matmul(none, 0, false, none, 0, DType.BF16, true, c, 0, 2, 3, 0, false);
            for (float v : Ref.read(c, 0, 6)) {
                assertEquals(0f, v);
            }
        }
    }

    private static void check(Backend be, int m, int n, int k, boolean transA, boolean transB, DType type,
                              boolean acc, Random rnd) {
        Problem p = Problem.random(rnd, m, n, k, transA, transB, type, acc);
        be.matmul(p.a, 3, transA, p.b.seg(), 5, type, transB, p.c, 2, m, n, k, acc);
        p.verify();
    }

    /** Operands in native memory at element offsets 3 (A), 5 (B) and 2 (C), and the reference. */
    private record Problem(Arena arena, MemorySegment a, float[] aV, Ref.Weights b, MemorySegment c, float[] c0,
                           int m, int n, int k, boolean transA, boolean transB, boolean acc) {

        static Problem random(Random rnd, int m, int n, int k, boolean transA, boolean transB, DType type, boolean acc) {
            Arena arena = Arena.ofAuto();
            float[] aV = Ref.gaussian(rnd, m * k);
            Ref.Weights b = Ref.weights(arena, rnd, k * n, type, 5);
            float[] c0 = Ref.gaussian(rnd, m * n);
            return new Problem(arena, Ref.f32(arena, aV, 3), aV, b, Ref.f32(arena, c0, 2), c0, m, n, k, transA, transB, acc);
        }

        void verify() {
            double[] want = new double[m * n];
            double[] scale = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    double mag = 0;
                    for (int p = 0; p < k; p++) {
                        double t = (double) aV[transA ? p * m + i : i * k + p] * b.values()[transB ? j * k + p : p * n + j];
                        sum += t;
                        mag += Math.abs(t);
                    }
                    if (acc) {
                        sum += c0[i * n + j];
                        mag += Math.abs(c0[i * n + j]);
                    }
                    want[i * n + j] = sum;
                    scale[i * n + j] = mag;
                }
            }
            String what = String.format("matmul m=%d n=%d k=%d transA=%b transB=%b acc=%b", m, n, k, transA, transB, acc);
            Ref.assertClose(want, scale, Ref.read(c, 2, m * n), Ref.TOL, what);
            // The guard elements around C must be untouched.
            assertEquals(Float.NaN, Ref.read(c, 0, 2)[1], what + ": wrote before C");
            assertEquals(Float.NaN, Ref.read(c, 2 + (long) m * n, 1)[0], what + ": wrote past C");
        }
    }
}
