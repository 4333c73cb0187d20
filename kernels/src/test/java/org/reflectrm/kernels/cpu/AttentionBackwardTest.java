package org.reflectrm.kernels.cpu;

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
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;

/**
 * Backward of causal GQA self-attention: against a double-precision reference (dq, dk, dv start
 * non-zero, so accumulation is checked too), against finite differences of the F32 forward
 * attention, and bit for bit between 1 and 3 threads. Group sizes 1, 2, 4; 64, 65, 100 and 130
 * tokens sit at and across the kernel's 64-token blocks; head_dim 24 is not a multiple of the
 * vector length.
 */
class AttentionBackwardTest {
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

    /** Random operands for one shape, and the forward output computed by the F32 kernel. */
    private record Problem(AttentionShape shape, float[] q, float[] k, float[] v, float[] dOut,
                           float[] dq0, float[] dk0, float[] dv0) {
        static Problem random(int heads, int kvHeads, int headDim, int tokens, long seed) {
            Random rnd = new Random(seed);
            AttentionShape s = new AttentionShape(tokens, 0, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
            int nq = tokens * heads * headDim;
            int nkv = tokens * kvHeads * headDim;
            float[] q = Ref.gaussian(rnd, nq);
            float[] k = Ref.gaussian(rnd, nkv);
            // Spread the scores so the softmax is far from uniform.
            for (int i = 0; i < nq; i++) {
                q[i] *= 2;
            }
            return new Problem(s, q, k, Ref.gaussian(rnd, nkv), Ref.gaussian(rnd, nq),
                    Ref.gaussian(rnd, nq), Ref.gaussian(rnd, nkv), Ref.gaussian(rnd, nkv));
        }

        int nq() {
            return q.length;
        }

        int nkv() {
            return k.length;
        }

        float[] forward(Arena arena, Backend be) {
            MemorySegment out = Ref.f32(arena, new float[nq()], 0);
            be.attention(Ref.f32(arena, q, 0), 0, Ref.f32(arena, k, 0), 0, Ref.f32(arena, v, 0), 0, out, 0, shape);
            return Ref.read(out, 0, nq());
        }

        /** Runs the backward on buffers holding dq0, dk0, dv0 (at offsets 2, 3, 4, NaN beyond). */
        MemorySegment[] backward(Arena arena, Backend be) {
            float[] out = forward(arena, be);
            MemorySegment dq = Ref.f32(arena, dq0, 2);
            MemorySegment dk = Ref.f32(arena, dk0, 3);
            MemorySegment dv = Ref.f32(arena, dv0, 4);
            be.attentionBackward(Ref.f32(arena, q, 1), 1, Ref.f32(arena, k, 5), 5, Ref.f32(arena, v, 6), 6,
                    Ref.f32(arena, out, 7), 7, Ref.f32(arena, dOut, 8), 8, dq, 2, dk, 3, dv, 4, shape);
            return new MemorySegment[] {dq, dk, dv};
        }
    }

    static Stream<Arguments> cases() {
        int[][] headShapes = {{2, 2}, {4, 2}, {8, 2}, {4, 1}};
        List<Arguments> all = new ArrayList<>();
        for (int[] h : headShapes) {
            for (int headDim : new int[] {16, 24, 64}) {
                for (int tokens : new int[] {1, 7, 33, 100}) {
                    if (tokens == 100 && headDim == 64) {
                        continue;  // enough of the long cases, which dominate the run time
                    }
                    all.add(Arguments.of(h[0], h[1], headDim, tokens, (tokens + headDim) % 2 == 0 ? 1 : 3));
                }
            }
        }
        all.add(Arguments.of(4, 2, 128, 70, 3));
        // Around and past the 64-token blocks: exactly one, one plus a row, and a partial third.
        for (int[] h : new int[][] {{2, 2}, {4, 2}, {8, 2}}) {
            for (int headDim : new int[] {24, 64}) {
                for (int tokens : new int[] {64, 65, 130}) {
                    all.add(Arguments.of(h[0], h[1], headDim, tokens, (tokens + headDim + h[0]) % 2 == 0 ? 1 : 3));
                }
            }
        }
        all.add(Arguments.of(4, 1, 128, 130, 3));
        return all.stream();
    }

    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} tokens={3} threads={4}")
    @MethodSource("cases")
    void matchesReference(int heads, int kvHeads, int headDim, int tokens, int threads) {
        Problem pr = Problem.random(heads, kvHeads, headDim, tokens, heads * 1000L + kvHeads * 100L + headDim + tokens);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] got = pr.backward(arena, threads == 1 ? one : three);
            double[][] want = {Grad.widen(pr.dq0()), Grad.widen(pr.dk0()), Grad.widen(pr.dv0())};
            double[][] mag = {abs(pr.dq0()), abs(pr.dk0()), abs(pr.dv0())};
            reference(pr, want, mag);
            String[] names = {"dq", "dk", "dv"};
            int[] sizes = {pr.nq(), pr.nkv(), pr.nkv()};
            for (int i = 0; i < 3; i++) {
                Ref.assertClose(want[i], mag[i], Ref.read(got[i], 2 + i, sizes[i]), 1e-4, names[i] + " " + pr.shape());
                assertTrue(Float.isNaN(Ref.read(got[i], 2 + i + (long) sizes[i], 1)[0]), "wrote past " + names[i]);
            }
        }
    }

    /**
     * Adds the exact gradients, in double, to want[0..2] (dq, dk, dv), and to mag the sums of the
     * magnitudes of their terms: |ds| is bounded by p·(Σ|dOut·v| + Σ|dOut·out|), which covers the
     * cancellation in dp − D.
     */
    private static void reference(Problem pr, double[][] want, double[][] mag) {
        AttentionShape s = pr.shape();
        int d = s.headDim();
        int kvStride = s.kvHeads() * d;
        float[] q = pr.q();
        float[] k = pr.k();
        float[] v = pr.v();
        float[] dOut = pr.dOut();
        for (int t = 0; t < s.tokens(); t++) {
            for (int h = 0; h < s.heads(); h++) {
                int g = h / s.group();
                int qb = (t * s.heads() + h) * d;
                double[] p = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) {
                        dot += (double) q[qb + i] * k[j * kvStride + g * d + i];
                    }
                    p[j] = dot * s.scale();
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                double[] out = new double[d];
                for (int j = 0; j <= t; j++) {
                    p[j] /= sum;
                    for (int i = 0; i < d; i++) {
                        out[i] += p[j] * v[j * kvStride + g * d + i];
                    }
                }
                double delta = 0;
                double deltaMag = 0;
                for (int i = 0; i < d; i++) {
                    delta += dOut[qb + i] * out[i];
                    deltaMag += Math.abs(dOut[qb + i] * out[i]);
                }
                for (int j = 0; j <= t; j++) {
                    int kb = j * kvStride + g * d;
                    double dp = 0;
                    double dpMag = 0;
                    for (int i = 0; i < d; i++) {
                        dp += (double) dOut[qb + i] * v[kb + i];
                        dpMag += Math.abs((double) dOut[qb + i] * v[kb + i]);
                    }
                    double ds = p[j] * (dp - delta) * s.scale();
                    double dsMag = p[j] * (dpMag + deltaMag) * s.scale();
                    for (int i = 0; i < d; i++) {
                        want[0][qb + i] += ds * k[kb + i];
                        mag[0][qb + i] += dsMag * Math.abs(k[kb + i]);
                        want[1][kb + i] += ds * q[qb + i];
                        mag[1][kb + i] += dsMag * Math.abs(q[qb + i]);
                        want[2][kb + i] += p[j] * dOut[qb + i];
                        mag[2][kb + i] += Math.abs(p[j] * dOut[qb + i]);
                    }
                }
            }
        }
    }

    private static double[] abs(float[] v) {
        double[] a = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }

    static Stream<Arguments> smallCases() {
        // The last two run the forward on its blocked path and cross the backward's 64-token blocks.
        return Stream.of(Arguments.of(2, 2, 8, 1), Arguments.of(4, 2, 16, 5), Arguments.of(4, 1, 24, 7),
                Arguments.of(8, 2, 6, 9), Arguments.of(4, 2, 6, 20), Arguments.of(2, 1, 4, 66));
    }

    /**
     * Every element of q, k and v perturbed in the F32 forward attention (startPos 0, K and V of
     * exactly {@code tokens} rows); L = Σ dy·attention(q, k, v) with dy the backward's dOut.
     */
    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} tokens={3}")
    @MethodSource("smallCases")
    void matchesFiniteDifferences(int heads, int kvHeads, int headDim, int tokens) {
        Problem pr = Problem.random(heads, kvHeads, headDim, tokens, 17L * tokens + headDim);
        try (Arena arena = Arena.ofShared()) {
            Grad.Loss loss = () -> Grad.dot(pr.dOut(), pr.forward(arena, one));
            double[][] want = {Grad.numeric(pr.q(), 1e-2f, loss), Grad.numeric(pr.k(), 1e-2f, loss),
                Grad.numeric(pr.v(), 1e-2f, loss)};
            MemorySegment[] got = pr.backward(arena, three);
            float[][] before = {pr.dq0(), pr.dk0(), pr.dv0()};
            String[] names = {"dq", "dk", "dv"};
            for (int i = 0; i < 3; i++) {
                float[] after = Ref.read(got[i], 2 + i, before[i].length);
                Grad.assertMatches(want[i], Grad.added(after, before[i]), 1e-2, names[i] + " " + pr.shape());
            }
        }
    }

    /** Work split over several key blocks and KV heads: 1 and 3 threads must give the same bits. */
    @Test
    void sameBitsOnOneAndThreeThreads() {
        for (int[] c : new int[][] {{8, 2, 64, 150}, {4, 4, 24, 70}, {16, 1, 16, 65}}) {
            Problem pr = Problem.random(c[0], c[1], c[2], c[3], 99);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment[] a = pr.backward(arena, one);
                MemorySegment[] b = pr.backward(arena, three);
                Grad.assertSameBits(a[0], b[0], 2, pr.nq(), "dq " + pr.shape());
                Grad.assertSameBits(a[1], b[1], 3, pr.nkv(), "dk " + pr.shape());
                Grad.assertSameBits(a[2], b[2], 4, pr.nkv(), "dv " + pr.shape());
            }
        }
    }

    @Test
    void rejectsAStartPosition() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment m = Ref.f32(arena, new float[64], 0);
            AttentionShape s = new AttentionShape(1, 3, 2, 2, 8, 0.3f);
            assertThrows(IllegalArgumentException.class,
                    () -> one.attentionBackward(m, 0, m, 0, m, 0, m, 0, m, 0, m, 0, m, 0, m, 0, s));
        }
    }
}
