package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * Causal GQA attention against a double-precision reference: group sizes 1, 2 and 4, prefill
 * (startPos 0, several tokens, causal mask), decode (one token against a filled cache) and
 * chunked prefill (several tokens after startPos > 0), on the per-row path (few tokens) and the
 * blocked one (many), which must also give the same bits on 1 and 2 threads. Cache slots past
 * the last written position hold NaN, so reading beyond what a token may see poisons the result.
 */
class AttentionTest {
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

    static Stream<Arguments> cases() {
        int[][] headShapes = {{4, 4}, {4, 2}, {8, 2}};
        int[][] steps = {{1, 0}, {1, 37}, {5, 0}, {3, 20}, {1, 600}};
        List<Arguments> all = new ArrayList<>();
        for (int[] h : headShapes) {
            for (int headDim : new int[] {16, 40, 128}) {
                for (int[] st : steps) {
                    for (int threads : new int[] {1, 2}) {
                        all.add(Arguments.of(h[0], h[1], headDim, st[0], st[1], threads));
                    }
                }
            }
        }
        return all.stream();
    }

    /**
     * The blocked path ({@link CpuAttention#BLOCKED_MIN_TOKENS} tokens or more): one query block,
     * a block boundary just crossed, several blocks, and after a filled cache; head_dim 24 is not
     * a multiple of the vector length.
     */
    static Stream<Arguments> blockedCases() {
        int[][] headShapes = {{4, 4}, {4, 2}, {8, 2}};
        int[][] steps = {{16, 0}, {64, 0}, {65, 0}, {130, 0}, {20, 37}, {70, 100}};
        List<Arguments> all = new ArrayList<>();
        for (int[] h : headShapes) {
            for (int headDim : new int[] {24, 64, 128}) {
                for (int[] st : steps) {
                    all.add(Arguments.of(h[0], h[1], headDim, st[0], st[1], (st[0] + headDim + h[1]) % 2 == 0 ? 1 : 2));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "heads={0} kvHeads={1} headDim={2} tokens={3} startPos={4} threads={5}")
    @MethodSource({"cases", "blockedCases"})
    void matchesReference(int heads, int kvHeads, int headDim, int tokens, int startPos, int threads) {
        Random rnd = new Random(heads * 1000L + kvHeads * 100L + headDim + tokens * 7L + startPos);
        int filled = startPos + tokens;
        int capacity = filled + 3;
        int kvStride = kvHeads * headDim;
        float[] q = Ref.gaussian(rnd, tokens * heads * headDim);
        float[] k = Ref.gaussian(rnd, capacity * kvStride);
        float[] v = Ref.gaussian(rnd, capacity * kvStride);
        for (int i = filled * kvStride; i < capacity * kvStride; i++) {
            k[i] = Float.NaN;
            v[i] = Float.NaN;
        }
        float scale = (float) (1 / Math.sqrt(headDim));
        AttentionShape shape = new AttentionShape(tokens, startPos, heads, kvHeads, headDim, scale);
        try (Arena arena = Arena.ofShared()) {
            int n = tokens * heads * headDim;
            MemorySegment out = Ref.f32(arena, new float[n], 2);
            (threads == 1 ? one : two).attention(Ref.f32(arena, q, 1), 1, Ref.f32(arena, k, 3), 3,
                    Ref.f32(arena, v, 5), 5, out, 2, shape);
            double[] want = new double[n];
            double[] mag = new double[n];
            reference(q, k, v, shape, want, mag);
            Ref.assertClose(want, mag, Ref.read(out, 2, n), Ref.TOL, "attention " + shape);
            assertEquals(Float.NaN, Ref.read(out, 2 + (long) n, 1)[0], "wrote past the output");
        }
    }

    /** Work split over query blocks and KV heads: 1 and 2 threads must give the same bits. */
    @Test
    void sameBitsOnOneAndTwoThreads() {
        for (int[] c : new int[][] {{8, 2, 64, 150, 0}, {4, 1, 24, 70, 33}, {16, 8, 128, 65, 0}}) {
            AttentionShape shape = new AttentionShape(c[3], c[4], c[0], c[1], c[2], (float) (1 / Math.sqrt(c[2])));
            Random rnd = new Random(7);
            int keys = (c[3] + c[4]) * c[1] * c[2];
            int n = c[3] * c[0] * c[2];
            try (Arena arena = Arena.ofShared()) {
                MemorySegment q = Ref.f32(arena, Ref.gaussian(rnd, n), 0);
                MemorySegment k = Ref.f32(arena, Ref.gaussian(rnd, keys), 0);
                MemorySegment v = Ref.f32(arena, Ref.gaussian(rnd, keys), 0);
                MemorySegment a = Ref.f32(arena, new float[n], 0);
                MemorySegment b = Ref.f32(arena, new float[n], 0);
                one.attention(q, 0, k, 0, v, 0, a, 0, shape);
                two.attention(q, 0, k, 0, v, 0, b, 0, shape);
                Grad.assertSameBits(a, b, 0, n, "attention " + shape);
            }
        }
    }

    /** Exact causal attention in double; mag gets the sum of |weight · value| per output. */
    private static void reference(float[] q, float[] k, float[] v, AttentionShape s, double[] want, double[] mag) {
        int d = s.headDim();
        int kvStride = s.kvHeads() * d;
        for (int t = 0; t < s.tokens(); t++) {
            int visible = s.startPos() + t + 1;
            for (int h = 0; h < s.heads(); h++) {
                int g = h / s.group();
                int qBase = (t * s.heads() + h) * d;
                double[] w = new double[visible];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = 0; p < visible; p++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) {
                        dot += (double) q[qBase + j] * k[p * kvStride + g * d + j];
                    }
                    w[p] = dot * s.scale();
                    max = Math.max(max, w[p]);
                }
                double sum = 0;
                for (int p = 0; p < visible; p++) {
                    w[p] = Math.exp(w[p] - max);
                    sum += w[p];
                }
                for (int j = 0; j < d; j++) {
                    double acc = 0;
                    double m = 0;
                    for (int p = 0; p < visible; p++) {
                        double term = w[p] / sum * v[p * kvStride + g * d + j];
                        acc += term;
                        m += Math.abs(term);
                    }
                    want[qBase + j] = acc;
                    mag[qBase + j] = m;
                }
            }
        }
    }
}
