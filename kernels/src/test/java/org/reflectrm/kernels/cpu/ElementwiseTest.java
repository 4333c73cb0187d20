package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * The row-wise and element-wise kernels against double-precision scalar references. Sizes include
 * tails (not multiples of the vector width) and sizes above the threshold where the work is
 * split across threads; every case runs on 1 and 2 threads.
 */
class ElementwiseTest {
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

    private static Backend backend(int threads) {
        return threads == 1 ? one : two;
    }

    // ---- rmsNorm ----

    static Stream<Arguments> rmsNormCases() {
        List<Arguments> all = new ArrayList<>();
        int[][] shapes = {{1, 1}, {3, 17}, {7, 128}, {2, 1000}, {40, 1000}};
        for (int[] s : shapes) {
            for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                for (boolean inPlace : new boolean[] {false, true}) {
                    for (int threads : new int[] {1, 2}) {
                        all.add(Arguments.of(s[0], s[1], type, inPlace, threads));
                    }
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "rows={0} dim={1} {2} inPlace={3} threads={4}")
    @MethodSource("rmsNormCases")
    void rmsNorm(int rows, int dim, DType type, boolean inPlace, int threads) {
        Random rnd = new Random(rows * 1000L + dim);
        float eps = 1e-6f;
        try (Arena arena = Arena.ofShared()) {
            float[] x = Ref.gaussian(rnd, rows * dim);
            Ref.Weights w = Ref.weights(arena, rnd, dim, type, 1);
            MemorySegment xs = Ref.f32(arena, x, 3);
            MemorySegment ys = inPlace ? xs : Ref.f32(arena, new float[rows * dim], 2);
            long yOff = inPlace ? 3 : 2;
            backend(threads).rmsNorm(xs, 3, w.seg(), 1, type, ys, yOff, rows, dim, eps);
            double[] want = new double[rows * dim];
            for (int r = 0; r < rows; r++) {
                double ss = 0;
                for (int j = 0; j < dim; j++) {
                    ss += (double) x[r * dim + j] * x[r * dim + j];
                }
                double inv = 1 / Math.sqrt(ss / dim + eps);
                for (int j = 0; j < dim; j++) {
                    want[r * dim + j] = x[r * dim + j] * inv * w.values()[j];
                }
            }
            Ref.assertClose(want, Ref.read(ys, yOff, rows * dim), Ref.TOL, "rmsNorm");
        }
    }

    // ---- rope ----

    static Stream<Arguments> ropeCases() {
        List<Arguments> all = new ArrayList<>();
        for (int headDim : new int[] {2, 6, 64, 128}) {
            for (float theta : new float[] {10_000f, 1_000_000f}) {
                for (int threads : new int[] {1, 2}) {
                    all.add(Arguments.of(headDim, theta, threads));
                }
            }
        }
        return all.stream();
    }

    /**
     * Against HF's formula: {@code invFreq[i] = 1 / theta^(2i/d)} in F32, {@code angle = pos ·
     * invFreq} in F32, then {@code (x1·cos − x2·sin, x2·cos + x1·sin)} with cos/sin of that F32
     * angle. Positions include 0 and large ones, where the F32 angle rounding matters.
     */
    @ParameterizedTest(name = "headDim={0} theta={1} threads={2}")
    @MethodSource("ropeCases")
    void rope(int headDim, float theta, int threads) {
        int[] positions = {0, 1, 7, 4097, 32767, 40960};
        int rows = positions.length;
        int heads = 3;
        int n = rows * heads * headDim;
        Random rnd = new Random(headDim);
        float[] x = Ref.gaussian(rnd, n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xs = Ref.f32(arena, x, 1);
            backend(threads).rope(xs, 1, rows, heads, headDim, positions, theta);
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
                        want[base + i] = x1 * cos - x2 * sin;
                        want[base + i + half] = x2 * cos + x1 * sin;
                        scale[base + i] = Math.abs(x1 * cos) + Math.abs(x2 * sin);
                        scale[base + i + half] = Math.abs(x2 * cos) + Math.abs(x1 * sin);
                    }
                }
            }
            Ref.assertClose(want, scale, Ref.read(xs, 1, n), Ref.TOL, "rope");
        }
    }

    // ---- swiglu, add, scale ----

    static Stream<Arguments> lengths() {
        List<Arguments> all = new ArrayList<>();
        for (int n : new int[] {1, 15, 17, 1000, 40_001}) {
            for (int threads : new int[] {1, 2}) {
                all.add(Arguments.of(n, threads));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("lengths")
    void swiglu(int n, int threads) {
        Random rnd = new Random(n);
        float[] g = Ref.gaussian(rnd, n);
        float[] u = Ref.gaussian(rnd, n);
        for (int i = 0; i < n; i++) {
            g[i] *= 4;
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = Ref.f32(arena, new float[n], 2);
            backend(threads).swiglu(Ref.f32(arena, g, 1), 1, Ref.f32(arena, u, 3), 3, out, 2, n);
            double[] want = new double[n];
            for (int i = 0; i < n; i++) {
                want[i] = g[i] / (1 + Math.exp(-(double) g[i])) * u[i];
            }
            Ref.assertClose(want, Ref.read(out, 2, n), Ref.TOL, "swiglu");
        }
    }

    /** Saturated gates: silu(x) is x for large x and a signed zero (as in F32 PyTorch) for very negative x. */
    @Test
    void swigluSaturates() {
        float[] g = {-1000f, -100f, 100f, 1000f, -88f, 89f, 0f, -0f, 1e-30f, -3f, 5f, 20f, -20f, 40f, -40f, 60f, -60f};
        float[] u = new float[g.length];
        java.util.Arrays.fill(u, 2f);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment out = Ref.f32(arena, new float[g.length], 0);
            one.swiglu(Ref.f32(arena, g, 0), 0, Ref.f32(arena, u, 0), 0, out, 0, g.length);
            float[] got = Ref.read(out, 0, g.length);
            for (int i = 0; i < g.length; i++) {
                double want = g[i] / (1 + Math.exp(-(double) g[i])) * u[i];
                assertTrue(Float.isFinite(got[i]), "swiglu(" + g[i] + ") = " + got[i]);
                assertEquals(want, got[i], 1e-5 * Math.abs(want) + 1e-37, "swiglu(" + g[i] + ")");
            }
        }
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("lengths")
    void addAllAliasings(int n, int threads) {
        Random rnd = new Random(n + 1);
        float[] a = Ref.gaussian(rnd, n);
        float[] b = Ref.gaussian(rnd, n);
        double[] want = new double[n];
        double[] scale = new double[n];
        for (int i = 0; i < n; i++) {
            want[i] = (double) a[i] + b[i];
            scale[i] = Math.abs(a[i]) + Math.abs(b[i]);
        }
        try (Arena arena = Arena.ofShared()) {
            Backend be = backend(threads);
            MemorySegment as = Ref.f32(arena, a, 1);
            MemorySegment bs = Ref.f32(arena, b, 2);
            MemorySegment out = Ref.f32(arena, new float[n], 3);
            be.add(as, 1, bs, 2, out, 3, n);
            Ref.assertClose(want, scale, Ref.read(out, 3, n), Ref.TOL, "add");
            be.add(as, 1, bs, 2, as, 1, n);
            Ref.assertClose(want, scale, Ref.read(as, 1, n), Ref.TOL, "add into a");
            MemorySegment a2 = Ref.f32(arena, a, 1);
            be.add(a2, 1, bs, 2, bs, 2, n);
            Ref.assertClose(want, scale, Ref.read(bs, 2, n), Ref.TOL, "add into b");
        }
    }

    @ParameterizedTest(name = "n={0} threads={1}")
    @MethodSource("lengths")
    void scaleInAndOutOfPlace(int n, int threads) {
        Random rnd = new Random(n + 2);
        float[] a = Ref.gaussian(rnd, n);
        float s = -0.37f;
        double[] want = new double[n];
        for (int i = 0; i < n; i++) {
            want[i] = (double) a[i] * s;
        }
        try (Arena arena = Arena.ofShared()) {
            Backend be = backend(threads);
            MemorySegment as = Ref.f32(arena, a, 1);
            MemorySegment out = Ref.f32(arena, new float[n], 2);
            be.scale(as, 1, s, out, 2, n);
            Ref.assertClose(want, Ref.read(out, 2, n), Ref.TOL, "scale");
            be.scale(as, 1, s, as, 1, n);
            Ref.assertClose(want, Ref.read(as, 1, n), Ref.TOL, "scale in place");
        }
    }

    // ---- softmax ----

    static Stream<Arguments> softmaxCases() {
        List<Arguments> all = new ArrayList<>();
        for (int[] s : new int[][] {{1, 1}, {4, 17}, {3, 1000}, {64, 1000}}) {
            for (int threads : new int[] {1, 2}) {
                all.add(Arguments.of(s[0], s[1], threads));
            }
        }
        return all.stream();
    }

    /** Includes large logits (stability) and -inf (masked) entries. */
    @ParameterizedTest(name = "rows={0} cols={1} threads={2}")
    @MethodSource("softmaxCases")
    void softmax(int rows, int cols, int threads) {
        Random rnd = new Random(rows * 7L + cols);
        float[] x = Ref.gaussian(rnd, rows * cols);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 5;
            if (i % 13 == 5) {
                x[i] += 1000;
            } else if (i % 11 == 3 && i % cols != 0) {
                x[i] = Float.NEGATIVE_INFINITY;
            }
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xs = Ref.f32(arena, x, 1);
            backend(threads).softmax(xs, 1, rows, cols);
            double[] want = new double[rows * cols];
            double[] scale = new double[rows * cols];
            for (int r = 0; r < rows; r++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < cols; j++) {
                    max = Math.max(max, x[r * cols + j]);
                }
                double sum = 0;
                for (int j = 0; j < cols; j++) {
                    sum += Math.exp(x[r * cols + j] - max);
                }
                for (int j = 0; j < cols; j++) {
                    int i = r * cols + j;
                    want[i] = Math.exp(x[i] - max) / sum;
                    // F32 rounds x - max to a relative 6e-8, an absolute error that grows with the
                    // distance below the max; exp turns it into a relative error of the result.
                    scale[i] = want[i] == 0 ? 0 : want[i] * (1 + Math.abs(x[i] - max));
                }
            }
            Ref.assertClose(want, scale, Ref.read(xs, 1, rows * cols), Ref.TOL, "softmax");
        }
    }

    // ---- embedding, copy ----

    static Stream<Arguments> embeddingCases() {
        List<Arguments> all = new ArrayList<>();
        for (int dim : new int[] {1, 17, 128}) {
            for (DType type : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                all.add(Arguments.of(dim, type));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "dim={0} {1}")
    @MethodSource("embeddingCases")
    void embedding(int dim, DType type) {
        int vocab = 50;
        int[] ids = {0, 49, 7, 7, 23};
        Random rnd = new Random(dim);
        try (Arena arena = Arena.ofShared()) {
            Ref.Weights table = Ref.weights(arena, rnd, vocab * dim, type, 3);
            MemorySegment out = Ref.f32(arena, new float[ids.length * dim], 2);
            two.embedding(table.seg(), 3, type, dim, ids, out, 2);
            float[] got = Ref.read(out, 2, ids.length * dim);
            for (int r = 0; r < ids.length; r++) {
                for (int j = 0; j < dim; j++) {
                    assertEquals(table.values()[ids[r] * dim + j], got[r * dim + j], "row " + r + " col " + j);
                }
            }
            assertEquals(Float.NaN, Ref.read(out, 2 + (long) ids.length * dim, 1)[0], "wrote past the output");
        }
    }

    @Test
    void copy() {
        Random rnd = new Random(3);
        float[] a = Ref.gaussian(rnd, 37);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment dst = Ref.f32(arena, new float[40], 0);
            one.copy(Ref.f32(arena, a, 2), 2, dst, 1, 37);
            float[] got = Ref.read(dst, 1, 37);
            for (int i = 0; i < 37; i++) {
                assertEquals(a[i], got[i]);
            }
            assertEquals(0f, Ref.read(dst, 0, 1)[0]);
            assertEquals(0f, Ref.read(dst, 38, 1)[0]);
        }
    }
}
