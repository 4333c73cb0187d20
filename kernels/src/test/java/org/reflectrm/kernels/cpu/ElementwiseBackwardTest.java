package org.reflectrm.kernels.cpu;

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

/**
 * Backward of RMSNorm, RoPE, SwiGLU and the embedding lookup: against double-precision references
 * (gradient buffers start non-zero, so accumulation is checked too), against finite differences of
 * the F32 forward kernels, and bit for bit between 1 and 3 threads.
 */
class ElementwiseBackwardTest {
    private static Backend one;
    private static Backend three;

    @BeforeAll
    static void start() {
        one = new CpuBackend(1);
        three = new CpuBackend(3);
    }

    @AfterAll
    static void stop() {
        one.close();
        three.close();
    }

    private static Backend backend(int threads) {
        return threads == 1 ? one : three;
    }

    // ---- rmsNorm ----

    static Stream<Arguments> rmsNormCases() {
        List<Arguments> all = new ArrayList<>();
        // 70 rows span three dw row blocks; 40 × 1000 is split across threads.
        int[][] shapes = {{1, 1}, {3, 17}, {7, 128}, {70, 24}, {40, 1000}};
        for (int[] s : shapes) {
            for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                for (boolean withDw : new boolean[] {true, false}) {
                    for (int threads : new int[] {1, 3}) {
                        all.add(Arguments.of(s[0], s[1], type, withDw, threads));
                    }
                }
            }
        }
        return all.stream();
    }

    /** dx and dw (when asked for) are added to buffers holding random values; dx is bounded by NaN. */
    @ParameterizedTest(name = "rows={0} dim={1} {2} dw={3} threads={4}")
    @MethodSource("rmsNormCases")
    void rmsNormMatchesReference(int rows, int dim, DType type, boolean withDw, int threads) {
        Random rnd = new Random(rows * 1000L + dim + type.ordinal());
        float eps = 1e-6f;
        int n = rows * dim;
        float[] x = Ref.gaussian(rnd, n);
        float[] dy = Ref.gaussian(rnd, n);
        float[] dx0 = Ref.gaussian(rnd, n);
        float[] dw0 = Ref.gaussian(rnd, dim);
        try (Arena arena = Arena.ofShared()) {
            Ref.Weights w = Ref.weights(arena, rnd, dim, type, 1);
            MemorySegment dx = Ref.f32(arena, dx0, 2);
            MemorySegment dw = withDw ? Ref.f32(arena, dw0, 3) : null;
            backend(threads).rmsNormBackward(Ref.f32(arena, x, 1), 1, w.seg(), 1, type,
                    Ref.f32(arena, dy, 4), 4, dx, 2, dw, 3, rows, dim, eps);
            double[] wantDx = new double[n];
            double[] magDx = new double[n];
            double[] wantDw = new double[dim];
            double[] magDw = new double[dim];
            for (int j = 0; j < dim; j++) {
                wantDw[j] = dw0[j];
                magDw[j] = Math.abs(dw0[j]);
            }
            for (int r = 0; r < rows; r++) {
                double ss = 0;
                double gx = 0;
                double gxMag = 0;
                for (int j = 0; j < dim; j++) {
                    int i = r * dim + j;
                    ss += (double) x[i] * x[i];
                    gx += (double) dy[i] * w.values()[j] * x[i];
                    gxMag += Math.abs((double) dy[i] * w.values()[j] * x[i]);
                }
                double inv = 1 / Math.sqrt(ss / dim + eps);
                double inv3 = inv * inv * inv;
                for (int j = 0; j < dim; j++) {
                    int i = r * dim + j;
                    double g = (double) dy[i] * w.values()[j];
                    wantDx[i] = dx0[i] + inv * g - x[i] * inv3 * gx / dim;
                    magDx[i] = Math.abs(dx0[i]) + Math.abs(inv * g) + Math.abs(x[i]) * inv3 * gxMag / dim;
                    wantDw[j] += (double) dy[i] * x[i] * inv;
                    magDw[j] += Math.abs((double) dy[i] * x[i] * inv);
                }
            }
            Ref.assertClose(wantDx, magDx, Ref.read(dx, 2, n), Ref.TOL, "dx");
            assertTrue(Float.isNaN(Ref.read(dx, 2 + (long) n, 1)[0]), "wrote past dx");
            if (withDw) {
                Ref.assertClose(wantDw, magDw, Ref.read(dw, 3, dim), Ref.TOL, "dw");
                assertTrue(Float.isNaN(Ref.read(dw, 3 + (long) dim, 1)[0]), "wrote past dw");
            }
        }
    }

    /** Every element of x and w perturbed in the F32 forward; L = Σ dy·rmsNorm(x, w). */
    @Test
    void rmsNormMatchesFiniteDifferences() {
        int rows = 3;
        int dim = 20;
        float eps = 1e-5f;
        Random rnd = new Random(5);
        float[] x = Ref.gaussian(rnd, rows * dim);
        float[] w = Ref.gaussian(rnd, dim);
        float[] dy = Ref.gaussian(rnd, rows * dim);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment y = Ref.f32(arena, new float[rows * dim], 0);
            Grad.Loss loss = () -> {
                one.rmsNorm(Ref.f32(arena, x, 0), 0, Ref.f32(arena, w, 0), 0, DType.F32, y, 0, rows, dim, eps);
                return Grad.dot(dy, Ref.read(y, 0, rows * dim));
            };
            double[] wantDx = Grad.numeric(x, 1e-2f, loss);
            double[] wantDw = Grad.numeric(w, 1e-2f, loss);
            float[] dx0 = Ref.gaussian(rnd, rows * dim);
            float[] dw0 = Ref.gaussian(rnd, dim);
            MemorySegment dx = Ref.f32(arena, dx0, 0);
            MemorySegment dw = Ref.f32(arena, dw0, 0);
            one.rmsNormBackward(Ref.f32(arena, x, 0), 0, Ref.f32(arena, w, 0), 0, DType.F32,
                    Ref.f32(arena, dy, 0), 0, dx, 0, dw, 0, rows, dim, eps);
            Grad.assertMatches(wantDx, Grad.added(Ref.read(dx, 0, rows * dim), dx0), 1e-2, "dx");
            Grad.assertMatches(wantDw, Grad.added(Ref.read(dw, 0, dim), dw0), 1e-2, "dw");
        }
    }

    // ---- rope ----

    static Stream<Arguments> ropeCases() {
        List<Arguments> all = new ArrayList<>();
        for (int headDim : new int[] {2, 6, 64, 128}) {
            for (int threads : new int[] {1, 3}) {
                all.add(Arguments.of(headDim, threads));
            }
        }
        return all.stream();
    }

    /**
     * Rotation by the negative F32 angle of HF's formula: {@code (x1·cos + x2·sin, x2·cos − x1·sin)};
     * and rope after ropeInverse gives back the input.
     */
    @ParameterizedTest(name = "headDim={0} threads={1}")
    @MethodSource("ropeCases")
    void ropeInverseMatchesReference(int headDim, int threads) {
        int[] positions = {0, 1, 7, 4097, 32767, 40960};
        float theta = 1_000_000f;
        int rows = positions.length;
        int heads = 3;
        int n = rows * heads * headDim;
        float[] x = Ref.gaussian(new Random(headDim), n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xs = Ref.f32(arena, x, 1);
            backend(threads).ropeInverse(xs, 1, rows, heads, headDim, positions, theta);
            int half = headDim / 2;
            double[] want = new double[n];
            double[] scale = new double[n];
            for (int r = 0; r < rows; r++) {
                for (int h = 0; h < heads; h++) {
                    int base = (r * heads + h) * headDim;
                    for (int i = 0; i < half; i++) {
                        float invFreq = 1.0f / (float) Math.pow(theta, (float) (2 * i) / (float) headDim);
                        float angle = (float) positions[r] * invFreq;
                        double cos = Math.cos(angle);
                        double sin = Math.sin(angle);
                        double x1 = x[base + i];
                        double x2 = x[base + i + half];
                        want[base + i] = x1 * cos + x2 * sin;
                        want[base + i + half] = x2 * cos - x1 * sin;
                        scale[base + i] = Math.abs(x1 * cos) + Math.abs(x2 * sin);
                        scale[base + i + half] = Math.abs(x2 * cos) + Math.abs(x1 * sin);
                    }
                }
            }
            Ref.assertClose(want, scale, Ref.read(xs, 1, n), Ref.TOL, "ropeInverse");
            backend(threads).rope(xs, 1, rows, heads, headDim, positions, theta);
            double[] back = Grad.widen(x);
            double[] backScale = new double[n];
            for (int i = 0; i < n; i++) {
                int pair = (i % headDim) < half ? i + half : i - half;
                backScale[i] = Math.abs(x[i]) + Math.abs(x[pair]);
            }
            Ref.assertClose(back, backScale, Ref.read(xs, 1, n), Ref.TOL, "rope(ropeInverse(x))");
        }
    }

    /** RoPE is linear, so ropeInverse(dy) must be the gradient of L = Σ dy·rope(x). */
    @Test
    void ropeInverseMatchesFiniteDifferences() {
        int[] positions = {0, 5, 1000};
        int heads = 2;
        int headDim = 8;
        int n = positions.length * heads * headDim;
        Random rnd = new Random(6);
        float[] x = Ref.gaussian(rnd, n);
        float[] dy = Ref.gaussian(rnd, n);
        try (Arena arena = Arena.ofShared()) {
            double[] want = Grad.numeric(x, 1e-2f, () -> {
                MemorySegment xs = Ref.f32(arena, x, 0);
                one.rope(xs, 0, positions.length, heads, headDim, positions, 10_000f);
                return Grad.dot(dy, Ref.read(xs, 0, n));
            });
            MemorySegment g = Ref.f32(arena, dy, 0);
            one.ropeInverse(g, 0, positions.length, heads, headDim, positions, 10_000f);
            Grad.assertMatches(want, Grad.widen(Ref.read(g, 0, n)), 1e-3, "ropeInverse");
        }
    }

    // ---- swiglu ----

    static Stream<Arguments> lengths() {
        List<Arguments> all = new ArrayList<>();
        for (int n : new int[] {1, 15, 17, 1000, 40_001}) {
            for (int threads : new int[] {1, 3}) {
                all.add(Arguments.of(n, threads));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("lengths")
    void swigluMatchesReference(int n, int threads) {
        Random rnd = new Random(n);
        float[] g = Ref.gaussian(rnd, n);
        for (int i = 0; i < n; i++) {
            g[i] *= 4;
        }
        checkSwiglu(g, rnd, threads);
    }

    /** Saturated gates (sigmoid 0 or 1, e^−g overflowing) give finite, correct gradients. */
    @Test
    void swigluSaturates() {
        float[] g = {-1000f, -100f, 100f, 1000f, -88f, 89f, 0f, -0f, 1e-30f, -3f, 5f, 20f, -20f, 40f, -40f, 60f,
            -60f, -1.2785f};
        checkSwiglu(g, new Random(1), 1);
    }

    /**
     * {@code dGate += dOut·up·s·(1 + g·(1 − s))} and {@code dUp += dOut·g·s} with s = sigmoid(g),
     * on buffers holding random values. The tolerance scales with {@code |dOut·up|·s·(1 + |g|·(1 − s))}
     * since silu' crosses zero near g = −1.28.
     */
    private static void checkSwiglu(float[] g, Random rnd, int threads) {
        int n = g.length;
        float[] u = Ref.gaussian(rnd, n);
        float[] d = Ref.gaussian(rnd, n);
        float[] dg0 = Ref.gaussian(rnd, n);
        float[] du0 = Ref.gaussian(rnd, n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dg = Ref.f32(arena, dg0, 2);
            MemorySegment du = Ref.f32(arena, du0, 3);
            backend(threads).swigluBackward(Ref.f32(arena, g, 1), 1, Ref.f32(arena, u, 4), 4,
                    Ref.f32(arena, d, 5), 5, dg, 2, du, 3, n);
            double[] wantDg = new double[n];
            double[] magDg = new double[n];
            double[] wantDu = new double[n];
            double[] magDu = new double[n];
            for (int i = 0; i < n; i++) {
                double s = 1 / (1 + Math.exp(-(double) g[i]));
                double du1 = (double) d[i] * u[i];
                wantDg[i] = dg0[i] + du1 * s * (1 + g[i] * (1 - s));
                magDg[i] = Math.abs(dg0[i]) + Math.abs(du1) * s * (1 + Math.abs(g[i]) * (1 - s));
                wantDu[i] = du0[i] + d[i] * g[i] * s;
                magDu[i] = Math.abs(wantDu[i] - du0[i]) + Math.abs(du0[i]);
            }
            float[] gotDg = Ref.read(dg, 2, n);
            float[] gotDu = Ref.read(du, 3, n);
            for (int i = 0; i < n; i++) {
                assertTrue(Float.isFinite(gotDg[i]) && Float.isFinite(gotDu[i]), "gate " + g[i]);
            }
            Ref.assertClose(wantDg, magDg, gotDg, Ref.TOL, "dGate");
            Ref.assertClose(wantDu, magDu, gotDu, Ref.TOL, "dUp");
            assertTrue(Float.isNaN(Ref.read(dg, 2 + (long) n, 1)[0]), "wrote past dGate");
        }
    }

    /** Every element of gate and up perturbed in the F32 forward; L = Σ dy·swiglu(gate, up). */
    @Test
    void swigluMatchesFiniteDifferences() {
        int n = 37;
        Random rnd = new Random(7);
        float[] g = Ref.gaussian(rnd, n);
        for (int i = 0; i < n; i++) {
            g[i] *= 3;
        }
        float[] u = Ref.gaussian(rnd, n);
        float[] dy = Ref.gaussian(rnd, n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = Ref.f32(arena, new float[n], 0);
            Grad.Loss loss = () -> {
                one.swiglu(Ref.f32(arena, g, 0), 0, Ref.f32(arena, u, 0), 0, out, 0, n);
                return Grad.dot(dy, Ref.read(out, 0, n));
            };
            double[] wantDg = Grad.numeric(g, 1e-2f, loss);
            double[] wantDu = Grad.numeric(u, 1e-2f, loss);
            MemorySegment dg = Ref.f32(arena, new float[n], 0);
            MemorySegment du = Ref.f32(arena, new float[n], 0);
            one.swigluBackward(Ref.f32(arena, g, 0), 0, Ref.f32(arena, u, 0), 0, Ref.f32(arena, dy, 0), 0,
                    dg, 0, du, 0, n);
            Grad.assertMatches(wantDg, Grad.widen(Ref.read(dg, 0, n)), 1e-2, "dGate");
            Grad.assertMatches(wantDu, Grad.widen(Ref.read(du, 0, n)), 1e-2, "dUp");
        }
    }

    // ---- embedding ----

    static Stream<Arguments> embeddingCases() {
        List<Arguments> all = new ArrayList<>();
        for (int dim : new int[] {1, 17, 128, 1000}) {
            for (int threads : new int[] {1, 3}) {
                all.add(Arguments.of(dim, threads));
            }
        }
        return all.stream();
    }

    /**
     * Repeated ids sum; rows no id names keep their bits. 40 ids of dim 1000 are split across
     * threads.
     */
    @ParameterizedTest(name = "dim={0} threads={1}")
    @MethodSource("embeddingCases")
    void embeddingMatchesReference(int dim, int threads) {
        int vocab = 13;
        int[] ids = new int[40];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % 11;  // ids 0..10 (11 and 12 never occur), each several times
        }
        Random rnd = new Random(dim);
        float[] table0 = Ref.gaussian(rnd, vocab * dim);
        float[] dOut = Ref.gaussian(rnd, ids.length * dim);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment table = Ref.f32(arena, table0, 3);
            backend(threads).embeddingBackward(ids, Ref.f32(arena, dOut, 2), 2, dim, table, 3);
            double[] want = Grad.widen(table0);
            double[] mag = new double[want.length];
            for (int i = 0; i < want.length; i++) {
                mag[i] = Math.abs(want[i]);
            }
            for (int i = 0; i < ids.length; i++) {
                for (int j = 0; j < dim; j++) {
                    want[ids[i] * dim + j] += dOut[i * dim + j];
                    mag[ids[i] * dim + j] += Math.abs(dOut[i * dim + j]);
                }
            }
            float[] got = Ref.read(table, 3, vocab * dim);
            Ref.assertClose(want, mag, got, Ref.TOL, "dTable");
            for (int i = 11 * dim; i < vocab * dim; i++) {
                assertEquals(Float.floatToRawIntBits(table0[i]), Float.floatToRawIntBits(got[i]), "untouched row");
            }
            assertTrue(Float.isNaN(Ref.read(table, 3 + (long) vocab * dim, 1)[0]), "wrote past the table");
        }
    }

    /** The lookup is linear in the table: L = Σ dy·embedding(table, ids), every table element perturbed. */
    @Test
    void embeddingMatchesFiniteDifferences() {
        int vocab = 6;
        int dim = 5;
        int[] ids = {3, 0, 3, 5, 3};
        Random rnd = new Random(8);
        float[] table = Ref.gaussian(rnd, vocab * dim);
        float[] dy = Ref.gaussian(rnd, ids.length * dim);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = Ref.f32(arena, new float[ids.length * dim], 0);
            double[] want = Grad.numeric(table, 1e-2f, () -> {
                one.embedding(Ref.f32(arena, table, 0), 0, DType.F32, dim, ids, out, 0);
                return Grad.dot(dy, Ref.read(out, 0, ids.length * dim));
            });
            MemorySegment g = Ref.f32(arena, new float[vocab * dim], 0);
            one.embeddingBackward(ids, Ref.f32(arena, dy, 0), 0, dim, g, 0);
            Grad.assertMatches(want, Grad.widen(Ref.read(g, 0, vocab * dim)), 1e-3, "dTable");
        }
    }

    @Test
    void embeddingRejectsIdsOutsideTheTable() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment table = Ref.f32(arena, new float[4 * 3], 0);
            MemorySegment dOut = Ref.f32(arena, new float[3], 0);
            assertThrows(IllegalArgumentException.class, () -> one.embeddingBackward(new int[] {-1}, dOut, 0, 3, table, 0));
            assertThrows(IllegalArgumentException.class, () -> one.embeddingBackward(new int[] {5}, dOut, 0, 3, table, 0));
        }
    }

    // ---- thread count ----

    /** Sizes above the threshold where the work is split: 1 and 3 threads must give the same bits. */
    @Test
    void sameBitsOnOneAndThreeThreads() {
        Random rnd = new Random(9);
        int rows = 100;
        int dim = 1000;
        float[] x = Ref.gaussian(rnd, rows * dim);
        float[] dy = Ref.gaussian(rnd, rows * dim);
        float[] w = Ref.gaussian(rnd, dim);
        int n = 100_003;
        float[] g = Ref.gaussian(rnd, n);
        float[] u = Ref.gaussian(rnd, n);
        float[] d = Ref.gaussian(rnd, n);
        int[] ids = new int[64];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 5) % 17;
        }
        int[] positions = new int[rows];
        for (int r = 0; r < rows; r++) {
            positions[r] = r * 37;
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] dx = new MemorySegment[2];
            MemorySegment[] dw = new MemorySegment[2];
            MemorySegment[] dg = new MemorySegment[2];
            MemorySegment[] du = new MemorySegment[2];
            MemorySegment[] table = new MemorySegment[2];
            MemorySegment[] rot = new MemorySegment[2];
            for (int b = 0; b < 2; b++) {
                Backend be = b == 0 ? one : three;
                dx[b] = Ref.f32(arena, new float[rows * dim], 0);
                dw[b] = Ref.f32(arena, new float[dim], 0);
                be.rmsNormBackward(Ref.f32(arena, x, 0), 0, Ref.f32(arena, w, 0), 0, DType.F32,
                        Ref.f32(arena, dy, 0), 0, dx[b], 0, dw[b], 0, rows, dim, 1e-6f);
                dg[b] = Ref.f32(arena, new float[n], 0);
                du[b] = Ref.f32(arena, new float[n], 0);
                be.swigluBackward(Ref.f32(arena, g, 0), 0, Ref.f32(arena, u, 0), 0, Ref.f32(arena, d, 0), 0,
                        dg[b], 0, du[b], 0, n);
                table[b] = Ref.f32(arena, new float[17 * dim], 0);
                be.embeddingBackward(ids, Ref.f32(arena, x, 0), 0, dim, table[b], 0);
                rot[b] = Ref.f32(arena, x, 0);
                be.ropeInverse(rot[b], 0, rows, 10, 100, positions, 1_000_000f);
            }
            Grad.assertSameBits(dx[0], dx[1], 0, rows * dim, "rmsNorm dx");
            Grad.assertSameBits(dw[0], dw[1], 0, dim, "rmsNorm dw");
            Grad.assertSameBits(dg[0], dg[1], 0, n, "swiglu dGate");
            Grad.assertSameBits(du[0], du[1], 0, n, "swiglu dUp");
            Grad.assertSameBits(table[0], table[1], 0, 17 * dim, "embedding");
            Grad.assertSameBits(rot[0], rot[1], 0, rows * dim, "ropeInverse");
        }
    }
}
