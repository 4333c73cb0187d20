package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

/**
 * Softmax cross-entropy: losses and gradients against a double-precision reference (with
 * zero-weight rows, large logits and masked −inf logits), the gradient against finite differences
 * of the loss, and bit for bit between 1 and 3 threads.
 */
class CrossEntropyTest {
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

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        // 152 000 columns: a Qwen-sized vocabulary.
        for (int[] s : new int[][] {{1, 1}, {4, 17}, {6, 1000}, {5, 152_000}}) {
            for (int threads : new int[] {1, 3}) {
                all.add(Arguments.of(s[0], s[1], threads));
            }
        }
        return all.stream();
    }

    /**
     * Rows: 0 ordinary (weight 1), 1 zero weight with an invalid target (must not be read),
     * 2 logits around 80 (e^80 overflows F32), 3 weight 0.5 with some −inf logits, and so on.
     */
    @ParameterizedTest(name = "rows={0} cols={1} threads={2}")
    @MethodSource("cases")
    void matchesReference(int rows, int cols, int threads) {
        Random rnd = new Random(rows * 31L + cols);
        float[] x = Ref.gaussian(rnd, rows * cols);
        int[] targets = new int[rows];
        float[] weights = new float[rows];
        for (int r = 0; r < rows; r++) {
            targets[r] = rnd.nextInt(cols);
            weights[r] = switch (r % 4) {
                case 1 -> 0f;
                case 3 -> 0.5f;
                default -> 1f + r;
            };
            for (int j = 0; j < cols; j++) {
                int i = r * cols + j;
                x[i] *= 3;
                if (r % 4 == 2) {
                    x[i] += 80;
                } else if (r % 4 == 3 && j % 7 == 3 && j != targets[r]) {
                    x[i] = Float.NEGATIVE_INFINITY;
                }
            }
            if (weights[r] == 0) {
                targets[r] = -100;
            }
        }
        double[] losses = new double[rows];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xs = Ref.f32(arena, x, 1);
            (threads == 1 ? one : three).crossEntropy(xs, 1, rows, cols, targets, weights, losses);
            float[] got = Ref.read(xs, 1, rows * cols);
            double[] want = new double[rows * cols];
            double[] scale = new double[rows * cols];
            for (int r = 0; r < rows; r++) {
                if (weights[r] == 0) {
                    assertEquals(0.0, losses[r], "loss of a zero-weight row");
                    continue;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < cols; j++) {
                    max = Math.max(max, x[r * cols + j]);
                }
                double sum = 0;
                for (int j = 0; j < cols; j++) {
                    sum += Math.exp(x[r * cols + j] - max);
                }
                double lse = max + Math.log(sum);
                double loss = lse - x[r * cols + targets[r]];
                assertTrue(Double.isFinite(losses[r]), "loss " + losses[r]);
                assertEquals(loss, losses[r], 1e-5 * (Math.abs(lse) + 1), "loss of row " + r);
                for (int j = 0; j < cols; j++) {
                    int i = r * cols + j;
                    double p = Math.exp(x[i] - max) / sum;
                    double onehot = j == targets[r] ? 1 : 0;
                    want[i] = weights[r] * (p - onehot);
                    // As for softmax: F32 rounds x − max, an error that grows with its size.
                    scale[i] = weights[r] * ((p == 0 ? 0 : p * (1 + Math.abs(x[i] - max))) + onehot);
                }
            }
            Ref.assertClose(want, scale, got, Ref.TOL, "gradient");
            assertTrue(Float.isNaN(Ref.read(xs, 1 + (long) rows * cols, 1)[0]), "wrote past the logits");
        }
    }

    /**
     * Every logit perturbed; L = Σ_r weights[r]·losses[r], whose gradient is the rows the kernel
     * leaves behind. Row 1 has logits around 80.
     */
    @Test
    void matchesFiniteDifferences() {
        int rows = 3;
        int cols = 37;
        Random rnd = new Random(12);
        float[] x = Ref.gaussian(rnd, rows * cols);
        for (int j = 0; j < cols; j++) {
            x[cols + j] += 80;
        }
        int[] targets = {4, 36, 0};
        float[] weights = {1f, 2f, 0.25f};
        try (Arena arena = Arena.ofShared()) {
            double[] want = Grad.numeric(x, 1e-2f, () -> {
                double[] losses = new double[rows];
                one.crossEntropy(Ref.f32(arena, x, 0), 0, rows, cols, targets, weights, losses);
                double l = 0;
                for (int r = 0; r < rows; r++) {
                    l += weights[r] * losses[r];
                }
                return l;
            });
            MemorySegment xs = Ref.f32(arena, x, 0);
            one.crossEntropy(xs, 0, rows, cols, targets, weights, new double[rows]);
            Grad.assertMatches(want, Grad.widen(Ref.read(xs, 0, rows * cols)), 1e-2, "gradient");
        }
    }

    @Test
    void sameBitsOnOneAndThreeThreads() {
        int rows = 7;
        int cols = 20_011;
        Random rnd = new Random(13);
        float[] x = Ref.gaussian(rnd, rows * cols);
        int[] targets = new int[rows];
        float[] weights = new float[rows];
        for (int r = 0; r < rows; r++) {
            targets[r] = rnd.nextInt(cols);
            weights[r] = r == 2 ? 0 : 1;
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = Ref.f32(arena, x, 0);
            MemorySegment b = Ref.f32(arena, x, 0);
            double[] la = new double[rows];
            double[] lb = new double[rows];
            one.crossEntropy(a, 0, rows, cols, targets, weights, la);
            three.crossEntropy(b, 0, rows, cols, targets, weights, lb);
            Grad.assertSameBits(a, b, 0, rows * cols, "gradient");
            assertArrayEquals(la, lb, "losses");
        }
    }

    @Test
    void rejectsATargetOutsideTheRow() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment xs = Ref.f32(arena, new float[10], 0);
            assertThrows(IllegalArgumentException.class,
                    () -> one.crossEntropy(xs, 0, 1, 10, new int[] {10}, new float[] {1f}, new double[1]));
        }
    }
}
