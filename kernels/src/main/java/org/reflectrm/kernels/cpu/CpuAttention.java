package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.CacheAttention;
import org.reflectrm.kernels.DType;

/**
 * Causal GQA attention against a KV cache: exact attention (scores, an F32 softmax, the weighted
 * sum of values) as transformers' eager path computes it, with no approximation. Two paths:
 * <ul>
 *   <li>Many query tokens (prefill, training; {@link #BLOCKED_MIN_TOKENS} or more): blocked
 *       matrix products, see {@link AttentionBlocks}. One task per (block of query tokens, KV
 *       head) computes {@code S = Q·Kᵀ} for every head of the group in one GEMM, the masked row
 *       softmax, and {@code O = P·V} in another.</li>
 *   <li>Few tokens (decode): per-row dot products against the cache, which is what bounds
 *       decode. One task per (token, KV head) handles all the query heads that share that KV
 *       head, so each K and V row is read from memory once per group instead of once per head;
 *       positions go in blocks of {@link AttentionBlocks#BLOCK} whose K (or V) rows fit in L1, and
 *       every query head of the group works through a block before the next is loaded.</li>
 * </ul>
 * Both give the same result up to rounding; for a given shape the path, and so the bits, are fixed.
 */
final class CpuAttention {
    /**
     * Fewest query tokens for the blocked path. Below it a block's GEMMs are too thin to pay for
     * copying Q, K and V head-major and packing them.
     */
    static final int BLOCKED_MIN_TOKENS = 16;

    private static final int BLOCK = AttentionBlocks.BLOCK;

    private final Parallel parallel;
    private final PackedGemm gemm;
    /** The calling thread's per-call copies (blocked path): Q, K, V head-major. */
    private final Scratch calls = new Scratch(3);
    /** Per-task buffers. */
    private final Scratch tasks = new Scratch(3);

    CpuAttention(Parallel parallel) {
        this.parallel = parallel;
        this.gemm = new PackedGemm(parallel, PackedGemm.DEFAULT);
    }

    void attention(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                   MemorySegment out, long outOff, AttentionShape s) {
        attention(q, qOff, new Cache(k, kOff, v, vOff, 0, k, kOff, v, vOff, (long) s.kvHeads() * s.headDim(), false),
                out, outOff, s);
    }

    /**
     * Many sequences' attention: those with {@link #BLOCKED_MIN_TOKENS} or more query tokens one
     * after another on the blocked path, all the others in one loop of (sequence, token, KV head)
     * tasks. A decode step of 8 sequences is then one loop of 8·kvHeads tasks, not 8 loops of
     * kvHeads tasks each with its own hand-off and wait. Each task is the code a sequence's own
     * call runs, so the bits do not change.
     */
    void attention(List<CacheAttention> calls) {
        int n = calls.size();
        Cache[] caches = new Cache[n];
        int[] firstTask = new int[n];
        int tasks = 0;
        for (int i = 0; i < n; i++) {
            CacheAttention c = calls.get(i);
            AttentionShape s = c.shape();
            caches[i] = new Cache(c.prefixK(), c.prefixKOff(), c.prefixV(), c.prefixVOff(), c.prefixLength(),
                    c.k(), c.kOff(), c.v(), c.vOff(), (long) s.kvHeads() * s.headDim(), c.kvType() == DType.BF16);
            firstTask[i] = tasks;
            if (s.tokens() >= BLOCKED_MIN_TOKENS) {
                blocked(c.q(), c.qOff(), caches[i], c.out(), c.outOff(), s);
            } else {
                tasks += s.tokens() * s.kvHeads();
            }
        }
        int[] callOf = new int[tasks];                  // which call each task belongs to
        for (int i = 0; i < n; i++) {
            int end = i + 1 < n ? firstTask[i + 1] : tasks;
            java.util.Arrays.fill(callOf, firstTask[i], end, i);
        }
        parallel.forEach(tasks, task -> {
            int i = callOf[task];
            CacheAttention c = calls.get(i);
            int local = task - firstTask[i];
            int kvHeads = c.shape().kvHeads();
            group(c.q(), c.qOff(), caches[i], c.out(), c.outOff(), c.shape(), local / kvHeads, local % kvHeads);
        });
    }

    void attention(MemorySegment q, long qOff, Cache cache, MemorySegment out, long outOff, AttentionShape s) {
        if (s.startPos() < cache.prefixLength()) {
            throw new IllegalArgumentException("queries start at position " + s.startPos()
                    + " inside the shared prefix of " + cache.prefixLength());
        }
        if (s.tokens() >= BLOCKED_MIN_TOKENS) {
            blocked(q, qOff, cache, out, outOff, s);
            return;
        }
        int kvHeads = s.kvHeads();
        parallel.forEach(s.tokens() * kvHeads,
                task -> group(q, qOff, cache, out, outOff, s, task / kvHeads, task % kvHeads));
    }

    /** The blocked path: copies Q, K[0, keys), V[0, keys) head-major, then one task per (query block, KV head). */
    private void blocked(MemorySegment q, long qOff, Cache cache, MemorySegment out, long outOff, AttentionShape s) {
        int d = s.headDim();
        int kvHeads = s.kvHeads();
        int keys = s.startPos() + s.tokens();
        MemorySegment qh = calls.get(0, (long) s.tokens() * s.heads() * d); // [kvHeads][tokens·group, d]
        MemorySegment kh = calls.get(1, (long) kvHeads * keys * d);         // [kvHeads][keys, d]
        MemorySegment vh = calls.get(2, (long) kvHeads * keys * d);         // [kvHeads][keys, d]
        int prefix = cache.prefixLength();
        parallel.forRange(keys, 1, (from, to) -> {
            AttentionBlocks.headMajor(q, qOff, s.tokens(), kvHeads, s.group() * d, qh, from, to);
            // Positions below the prefix length come from the shared cache, the rest from the own one.
            int split = Math.clamp(prefix, from, to);
            boolean bf16 = cache.bf16();
            AttentionBlocks.headMajor(cache.prefixK(), cache.prefixKOff(), bf16, keys, kvHeads, d, kh, from, split);
            AttentionBlocks.headMajor(cache.prefixV(), cache.prefixVOff(), bf16, keys, kvHeads, d, vh, from, split);
            AttentionBlocks.headMajor(cache.k(), cache.ownKBase(), bf16, keys, kvHeads, d, kh, split, to);
            AttentionBlocks.headMajor(cache.v(), cache.ownVBase(), bf16, keys, kvHeads, d, vh, split, to);
        });
        int blocks = PackedGemm.ceilDiv(s.tokens(), BLOCK);
        // Last blocks first: they see the most keys, so the last task to start is a short one.
        parallel.forEach(blocks * kvHeads,
                i -> queryBlock(qh, kh, vh, out, outOff, s, blocks - 1 - i / kvHeads, i % kvHeads));
    }

    /** Output of query tokens [t0, t1) of block b, for every query head that reads KV head g. */
    private void queryBlock(MemorySegment qh, MemorySegment kh, MemorySegment vh, MemorySegment out, long outOff,
                            AttentionShape s, int b, int g) {
        int d = s.headDim();
        int group = s.group();
        int t0 = b * BLOCK;
        int t1 = Math.min(s.tokens(), t0 + BLOCK);
        int m = (t1 - t0) * group;   // rows (token, head of the group)
        int n = s.startPos() + t1;   // keys the block's last token sees; the others see fewer
        long kvAt = (long) g * (s.startPos() + s.tokens()) * d;
        MemorySegment p = tasks.get(0, (long) m * n);  // [m, n]: scores, then probabilities
        MemorySegment o = tasks.get(1, (long) m * d);  // [m, d]
        AttentionBlocks.abT(gemm, qh, ((long) g * s.tokens() + t0) * group * d, kh, kvAt, p, m, n, d);
        AttentionBlocks.softmax(p, m, n, s.startPos() + t0 + 1, group, s.scale(), null, null, 0);
        AttentionBlocks.ab(gemm, p, 0, vh, kvAt, o, m, d, n);
        // The group's heads of token t are adjacent in out: one copy of group·d floats per token.
        for (int t = t0; t < t1; t++) {
            long at = outOff + ((long) t * s.kvHeads() + g) * group * d;
            MemorySegment.copy(o, (long) (t - t0) * group * d * 4, out, at * 4, (long) group * d * 4);
        }
    }

    /**
     * A sequence's keys and values: positions below {@code prefixLength} in a prefix cache it
     * shares with other sequences, the rest in its own cache, which holds position
     * {@code prefixLength} at index 0. Element offsets; {@code stride} is the distance between
     * positions in both. {@code bf16}: both hold BF16 (a half-size cache), else F32.
     */
    record Cache(MemorySegment prefixK, long prefixKOff, MemorySegment prefixV, long prefixVOff, int prefixLength,
                 MemorySegment k, long kOff, MemorySegment v, long vOff, long stride, boolean bf16) {

        /**
         * Where position 0 would be in the own K cache, so that position p (at least the prefix
         * length) is at {@code ownKBase() + p·stride}: possibly before the segment, never read there.
         */
        long ownKBase() {
            return kOff - prefixLength * stride;
        }

        long ownVBase() {
            return vOff - prefixLength * stride;
        }
    }

    /** Output of every query head that reads KV head g, for token t. */
    private void group(MemorySegment q, long qOff, Cache cache, MemorySegment out, long outOff,
                       AttentionShape s, int t, int g) {
        int d = s.headDim();
        int heads = s.group();
        int visible = s.startPos() + t + 1;
        MemorySegment qs = tasks.get(0, (long) heads * d);            // [heads, d]
        MemorySegment scores = tasks.get(1, (long) heads * visible);  // [heads, visible]
        MemorySegment acc = tasks.get(2, (long) heads * d);           // [heads, d]
        long firstHead = (long) t * s.heads() + (long) g * heads;
        MemorySegment.copy(q, (qOff + firstHead * d) * 4, qs, 0, (long) heads * d * 4);
        int prefix = cache.prefixLength();
        long stride = cache.stride();
        boolean bf16 = cache.bf16();
        long pkBase = cache.prefixKOff() + (long) g * d, kBase = cache.ownKBase() + (long) g * d;
        long pvBase = cache.prefixVOff() + (long) g * d, vBase = cache.ownVBase() + (long) g * d;
        for (int p0 = 0; p0 < visible; p0 += BLOCK) {
            int p1 = Math.min(visible, p0 + BLOCK);
            int split = Math.clamp(prefix, p0, p1);
            for (int h = 0; h < heads; h++) {
                scores(qs, (long) h * d, cache.prefixK(), pkBase, stride, bf16, d, p0, split, scores, (long) h * visible);
                scores(qs, (long) h * d, cache.k(), kBase, stride, bf16, d, split, p1, scores, (long) h * visible);
            }
        }
        float[] inv = new float[heads];
        for (int h = 0; h < heads; h++) {
            float max = AttentionBlocks.scaleAndMax(scores, (long) h * visible, visible, s.scale());
            inv[h] = 1f / AttentionBlocks.expInPlace(scores, (long) h * visible, visible, max);
        }
        AttentionBlocks.zero(acc, 0, heads * d);
        for (int p0 = 0; p0 < visible; p0 += BLOCK) {
            int p1 = Math.min(visible, p0 + BLOCK);
            int split = Math.clamp(prefix, p0, p1);
            for (int h = 0; h < heads; h++) {
                if (split > p0) {
                    weightedValues(scores, (long) h * visible, cache.prefixV(), pvBase, stride, bf16, d, p0, split, acc, (long) h * d);
                }
                if (p1 > split) {
                    weightedValues(scores, (long) h * visible, cache.v(), vBase, stride, bf16, d, split, p1, acc, (long) h * d);
                }
            }
        }
        for (int h = 0; h < heads; h++) {
            long o = outOff + (firstHead + h) * d;
            for (int j = 0; j < d; j++) {
                Lanes.setF(out, o + j, Lanes.getF(acc, (long) h * d + j) * inv[h]);
            }
        }
    }

    /**
     * {@code scores[at + p] = q · K[p]} for positions [p0, p1), four positions at a time
     * so one q vector load feeds four FMAs and the per-position reductions overlap.
     */
    private static void scores(MemorySegment q, long qAt, MemorySegment k, long kBase, long stride, boolean bf16,
                               int d, int p0, int p1, MemorySegment scores, long at) {
        int bound = d - d % L;
        int p = p0;
        float[] four = new float[4];
        for (; p + 4 <= p1; p += 4) {
            long r0 = kBase + p * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < bound; j += L) {
                FloatVector x = Lanes.f32(q, qAt + j);
                a0 = x.fma(cached(k, r0 + j, bf16), a0);
                a1 = x.fma(cached(k, r1 + j, bf16), a1);
                a2 = x.fma(cached(k, r2 + j, bf16), a2);
                a3 = x.fma(cached(k, r3 + j, bf16), a3);
            }
            Lanes.sum4(a0, a1, a2, a3, four, 0);
            Lanes.setF(scores, at + p, four[0] + tail(q, qAt, k, r0, bf16, bound, d));
            Lanes.setF(scores, at + p + 1, four[1] + tail(q, qAt, k, r1, bf16, bound, d));
            Lanes.setF(scores, at + p + 2, four[2] + tail(q, qAt, k, r2, bf16, bound, d));
            Lanes.setF(scores, at + p + 3, four[3] + tail(q, qAt, k, r3, bf16, bound, d));
        }
        for (; p < p1; p++) {
            long r = kBase + p * stride;
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < bound; j += L) {
                a = Lanes.f32(q, qAt + j).fma(cached(k, r + j, bf16), a);
            }
            Lanes.setF(scores, at + p, Lanes.sum(a) + tail(q, qAt, k, r, bf16, bound, d));
        }
    }

    /** The scalar remainder of a dot product, elements [from, d). */
    private static float tail(MemorySegment q, long qAt, MemorySegment k, long row, boolean bf16, int from, int d) {
        float s = 0f;
        for (int j = from; j < d; j++) {
            s += Lanes.getF(q, qAt + j) * cachedValue(k, row + j, bf16);
        }
        return s;
    }

    /**
     * L cache elements from element {@code i}, widened to F32 when the cache is BF16. The flag is
     * the same for a whole call, so C2 unswitches the loops on it. Not {@link Lanes#load} with the
     * cache's {@code DType}: its switch in these loops measured slower for a BF16 cache
     * ({@code BatchAttentionBench}, 1 thread: 427–478 against 563–587 calls/s).
     */
    private static FloatVector cached(MemorySegment cache, long i, boolean bf16) {
        return bf16 ? Lanes.bf16(cache, i) : Lanes.f32(cache, i);
    }

    /** One cache element, as {@link #cached}. */
    private static float cachedValue(MemorySegment cache, long i, boolean bf16) {
        return bf16 ? Float.intBitsToFloat(cache.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) << 16)
                : Lanes.getF(cache, i);
    }

    /**
     * {@code acc[at..at+d) += Σ_p w[wAt + p] · V[p]} over positions [p0, p1), four positions at a
     * time: each weight is broadcast once for the whole row (not once per vector of it), and each
     * vector of {@code acc} (in L1) takes four FMAs in two chains per load and store. The order of
     * the sums is fixed by p0, p1 and d, so the result does not depend on the batch or the threads.
     */
    private static void weightedValues(MemorySegment w, long wAt, MemorySegment v, long vBase, long stride,
                                       boolean bf16, int d, int p0, int p1, MemorySegment acc, long at) {
        int bound = d - d % L;
        int p = p0;
        for (; p + 4 <= p1; p += 4) {
            FloatVector w0 = FloatVector.broadcast(F, Lanes.getF(w, wAt + p));
            FloatVector w1 = FloatVector.broadcast(F, Lanes.getF(w, wAt + p + 1));
            FloatVector w2 = FloatVector.broadcast(F, Lanes.getF(w, wAt + p + 2));
            FloatVector w3 = FloatVector.broadcast(F, Lanes.getF(w, wAt + p + 3));
            long r0 = vBase + p * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
            for (int j = 0; j < bound; j += L) {
                FloatVector a = cached(v, r0 + j, bf16).fma(w0, Lanes.f32(acc, at + j));
                FloatVector b = cached(v, r1 + j, bf16).mul(w1);
                a = cached(v, r2 + j, bf16).fma(w2, a);
                b = cached(v, r3 + j, bf16).fma(w3, b);
                Lanes.store(a.add(b), acc, at + j);
            }
        }
        for (; p < p1; p++) {
            FloatVector wp = FloatVector.broadcast(F, Lanes.getF(w, wAt + p));
            long r = vBase + p * stride;
            for (int j = 0; j < bound; j += L) {
                Lanes.store(cached(v, r + j, bf16).fma(wp, Lanes.f32(acc, at + j)), acc, at + j);
            }
        }
        for (int j = bound; j < d; j++) {
            float a = Lanes.getF(acc, at + j);
            for (int q = p0; q < p1; q++) {
                a += Lanes.getF(w, wAt + q) * cachedValue(v, vBase + q * stride + j, bf16);
            }
            Lanes.setF(acc, at + j, a);
        }
    }
}
