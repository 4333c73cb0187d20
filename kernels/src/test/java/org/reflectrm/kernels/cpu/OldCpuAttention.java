package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.reflectrm.kernels.AttentionShape;

/**
 * Causal GQA attention against a KV cache: exact attention (scores, an F32 softmax, the weighted
 * sum of values) as transformers' eager path computes it, with no approximation.
 *
 * <p>One task per (token, KV head) handles all the query heads that share that KV head, so each
 * K and V row is read from memory once per group instead of once per head; decode is bound by
 * reading the cache. Positions go in blocks of {@link #BLOCK} whose K (or V) rows fit in L1, and
 * every query head of the group works through a block before the next is loaded.
 */
final class OldCpuAttention {
    /** Cache positions per block: 64 rows of head_dim 128 are 32 KB. */
    static final int BLOCK = 64;

    private final Parallel parallel;
    private final ThreadLocal<float[][]> buffers = ThreadLocal.withInitial(() -> new float[3][]);

    OldCpuAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    void attention(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                   MemorySegment out, long outOff, AttentionShape s) {
        int kvHeads = s.kvHeads();
        parallel.forEach(s.tokens() * kvHeads, task -> {
            Cache cache = new Cache(k, kOff, v, vOff, (long) kvHeads * s.headDim());
            group(q, qOff, cache, out, outOff, s, task / kvHeads, task % kvHeads);
        });
    }

    /** The KV cache: element offsets of K and V, and the stride between positions. */
    private record Cache(MemorySegment k, long kOff, MemorySegment v, long vOff, long stride) {
    }

    /** Output of every query head that reads KV head g, for token t. */
    private void group(MemorySegment q, long qOff, Cache cache, MemorySegment out, long outOff,
                       AttentionShape s, int t, int g) {
        int d = s.headDim();
        int heads = s.group();
        int visible = s.startPos() + t + 1;
        float[] qs = buffer(0, heads * d);
        float[] scores = buffer(1, heads * visible);
        float[] acc = buffer(2, heads * d);
        long firstHead = (long) t * s.heads() + (long) g * heads;
        MemorySegment.copy(q, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, (qOff + firstHead * d) * 4,
                qs, 0, heads * d);
        long kBase = cache.kOff() + (long) g * d;
        long vBase = cache.vOff() + (long) g * d;
        for (int p0 = 0; p0 < visible; p0 += BLOCK) {
            int p1 = Math.min(visible, p0 + BLOCK);
            for (int h = 0; h < heads; h++) {
                scores(qs, h * d, cache.k(), kBase, cache.stride(), d, p0, p1, s.scale(), scores, h * visible);
            }
        }
        float[] inv = new float[heads];
        for (int h = 0; h < heads; h++) {
            inv[h] = 1f / expInPlace(scores, h * visible, visible);
        }
        java.util.Arrays.fill(acc, 0, heads * d, 0f);
        for (int p0 = 0; p0 < visible; p0 += BLOCK) {
            int p1 = Math.min(visible, p0 + BLOCK);
            for (int h = 0; h < heads; h++) {
                weightedValues(scores, h * visible, cache.v(), vBase, cache.stride(), d, p0, p1, acc, h * d);
            }
        }
        for (int h = 0; h < heads; h++) {
            long o = outOff + (firstHead + h) * d;
            for (int j = 0; j < d; j++) {
                Lanes.setF(out, o + j, acc[h * d + j] * inv[h]);
            }
        }
    }

    /**
     * {@code scores[at + p] = (q · K[p]) · scale} for positions [p0, p1), four positions at a time
     * so one q vector load feeds four FMAs and the per-position reductions overlap.
     */
    static void scores(float[] q, int qAt, MemorySegment k, long kBase, long stride, int d,
                               int p0, int p1, float scale, float[] scores, int at) {
        int bound = d - d % L;
        int p = p0;
        for (; p + 4 <= p1; p += 4) {
            long r0 = kBase + p * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < bound; j += L) {
                FloatVector x = FloatVector.fromArray(F, q, qAt + j);
                a0 = x.fma(Lanes.f32(k, r0 + j), a0);
                a1 = x.fma(Lanes.f32(k, r1 + j), a1);
                a2 = x.fma(Lanes.f32(k, r2 + j), a2);
                a3 = x.fma(Lanes.f32(k, r3 + j), a3);
            }
            scores[at + p] = (Lanes.sum(a0) + tail(q, qAt, k, r0, bound, d)) * scale;
            scores[at + p + 1] = (Lanes.sum(a1) + tail(q, qAt, k, r1, bound, d)) * scale;
            scores[at + p + 2] = (Lanes.sum(a2) + tail(q, qAt, k, r2, bound, d)) * scale;
            scores[at + p + 3] = (Lanes.sum(a3) + tail(q, qAt, k, r3, bound, d)) * scale;
        }
        for (; p < p1; p++) {
            long r = kBase + p * stride;
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < bound; j += L) {
                a = FloatVector.fromArray(F, q, qAt + j).fma(Lanes.f32(k, r + j), a);
            }
            scores[at + p] = (Lanes.sum(a) + tail(q, qAt, k, r, bound, d)) * scale;
        }
    }

    /** The scalar remainder of a dot product, elements [from, d). */
    private static float tail(float[] q, int qAt, MemorySegment k, long row, int from, int d) {
        float s = 0f;
        for (int j = from; j < d; j++) {
            s += q[qAt + j] * Lanes.getF(k, row + j);
        }
        return s;
    }

    /** {@code acc[at..at+d) += Σ_p w[wAt + p] · V[p]} over positions [p0, p1). */
    static void weightedValues(float[] w, int wAt, MemorySegment v, long vBase, long stride, int d,
                                       int p0, int p1, float[] acc, int at) {
        int bound = d - d % L;
        for (int j = 0; j < bound; j += L) {
            FloatVector a = FloatVector.fromArray(F, acc, at + j);
            FloatVector b = FloatVector.zero(F);
            int p = p0;
            // Two chains, so consecutive FMAs do not wait on each other.
            for (; p + 2 <= p1; p += 2) {
                a = Lanes.f32(v, vBase + p * stride + j).fma(FloatVector.broadcast(F, w[wAt + p]), a);
                b = Lanes.f32(v, vBase + (p + 1) * stride + j).fma(FloatVector.broadcast(F, w[wAt + p + 1]), b);
            }
            if (p < p1) {
                a = Lanes.f32(v, vBase + p * stride + j).fma(FloatVector.broadcast(F, w[wAt + p]), a);
            }
            a.add(b).intoArray(acc, at + j);
        }
        for (int j = bound; j < d; j++) {
            float a = acc[at + j];
            for (int p = p0; p < p1; p++) {
                a += w[wAt + p] * Lanes.getF(v, vBase + p * stride + j);
            }
            acc[at + j] = a;
        }
    }

    /**
     * Replaces {@code x[at..at+n)} by {@code exp(x - max)} and returns their sum: the softmax
     * numerators, normalised later by the caller.
     */
    static float expInPlace(float[] x, int at, int n) {
        return expInPlace(x, at, n, max(x, at, n));
    }

    /** The largest of {@code x[at..at+n)} (a MAX reduction is exact, so its order does not matter). */
    static float max(float[] x, int at, int n) {
        int bound = n - n % L;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < bound; i += L) {
            mv = mv.max(FloatVector.fromArray(F, x, at + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (int i = bound; i < n; i++) {
            max = Math.max(max, x[at + i]);
        }
        return max;
    }

    /** {@link #expInPlace} given the row's maximum. */
    static float expInPlace(float[] x, int at, int n, float max) {
        int bound = n - n % L;
        FloatVector sv = FloatVector.zero(F);
        for (int i = 0; i < bound; i += L) {
            FloatVector e = Lanes.exp(FloatVector.fromArray(F, x, at + i).sub(max));
            e.intoArray(x, at + i);
            sv = sv.add(e);
        }
        float sum = Lanes.sum(sv);
        for (int i = bound; i < n; i++) {
            float e = (float) Math.exp(x[at + i] - max);
            x[at + i] = e;
            sum += e;
        }
        return sum;
    }

    /** This thread's scratch array {@code which}, grown to at least {@code size} floats. */
    private float[] buffer(int which, int size) {
        float[][] mine = buffers.get();
        if (mine[which] == null || mine[which].length < size) {
            mine[which] = new float[Math.max(size, 1024)];
        }
        return mine[which];
    }
}
