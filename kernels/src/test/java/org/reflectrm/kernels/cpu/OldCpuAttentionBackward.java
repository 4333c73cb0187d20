package org.reflectrm.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.AttentionShape;

/**
 * Backward of causal GQA self-attention (startPos 0; k, v hold exactly the sequence), in the
 * FlashAttention-2 manner. For query token t, head h (KV head g = h / group) and keys j ≤ t:
 * <pre>
 *   s_j = scale·q_t·k_j,  p = softmax(s),  dp_j = dOut_t·v_j,  D = dOut_t·out_t,  ds_j = p_j·(dp_j − D)
 *   dq_t += scale·Σ_j ds_j·k_j,   dk_j += scale·ds_j·q_t,   dv_j += p_j·dOut_t
 * </pre>
 * Probabilities are recomputed from q and k, never stored: memory is O(tokens·heads).
 *
 * <p>dq sums over keys while dk and dv sum over queries, so there are two passes, and in each
 * every gradient element is summed by one task in a fixed order (no atomics, no split that
 * depends on the thread count), which makes the bits independent of the number of threads:
 * <ol>
 *   <li>Queries, one task per (token t, KV head g): for each head of the group the softmax
 *       statistics of row t (max, 1/sum), D, and {@code dq_t}.</li>
 *   <li>Keys, one task per (block of {@link #KEY_BLOCK} keys, KV head g): walks the queries
 *       t ≥ the block's first key in order, recomputes p and ds from the saved statistics, and
 *       sums {@code dk, dv} of the block in local buffers, added to dk and dv at the end.</li>
 * </ol>
 * Both passes have many tasks even with few KV heads, so every core has work; the price is
 * computing the scores and dp twice.
 */
final class OldCpuAttentionBackward {
    /** Keys per task of the second pass: 64 rows of K and of V at head_dim 128 are 32 KB each. */
    static final int KEY_BLOCK = 64;

    private final Parallel parallel;
    private final ThreadLocal<float[][]> buffers = ThreadLocal.withInitial(() -> new float[6][]);

    OldCpuAttentionBackward(Parallel parallel) {
        this.parallel = parallel;
    }

    void attentionBackward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                           MemorySegment out, long outOff, MemorySegment dOut, long dOutOff,
                           MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff,
                           AttentionShape s) {
        if (s.startPos() != 0) {
            throw new IllegalArgumentException("attention backward needs startPos 0, got " + s);
        }
        int tokens = s.tokens();
        int kvHeads = s.kvHeads();
        Job job = new Job(s, q, qOff, k, kOff, v, vOff, out, outOff, dOut, dOutOff, dq, dqOff, dk, dkOff, dv, dvOff,
                new float[tokens * s.heads()], new float[tokens * s.heads()], new float[tokens * s.heads()]);
        // Longest tasks first (late tokens see the most keys; early key blocks are seen by the most
        // queries), so the last task to start is a short one.
        parallel.forEach(tokens * kvHeads, i -> job.queries(tokens - 1 - i / kvHeads, i % kvHeads));
        int blocks = (tokens + KEY_BLOCK - 1) / KEY_BLOCK;
        parallel.forEach(blocks * kvHeads, i -> job.keys(i / kvHeads, i % kvHeads));
    }

    /**
     * One call's operands (element offsets) and the per-(token, head) statistics the first pass
     * saves for the second: row max of the scores, 1/Σ exp(s − max), and D. Index t·heads + h.
     */
    private final class Job {
        final AttentionShape s;
        final MemorySegment q, k, v, out, dOut, dq, dk, dv;
        final long qOff, kOff, vOff, outOff, dOutOff, dqOff, dkOff, dvOff;
        final float[] rowMax, rowInv, rowD;
        /** Elements between consecutive tokens of K and V. */
        final long kvStride;

        Job(AttentionShape s, MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
            MemorySegment out, long outOff, MemorySegment dOut, long dOutOff, MemorySegment dq, long dqOff,
            MemorySegment dk, long dkOff, MemorySegment dv, long dvOff, float[] rowMax, float[] rowInv, float[] rowD) {
            this.s = s;
            this.q = q;
            this.qOff = qOff;
            this.k = k;
            this.kOff = kOff;
            this.v = v;
            this.vOff = vOff;
            this.out = out;
            this.outOff = outOff;
            this.dOut = dOut;
            this.dOutOff = dOutOff;
            this.dq = dq;
            this.dqOff = dqOff;
            this.dk = dk;
            this.dkOff = dkOff;
            this.dv = dv;
            this.dvOff = dvOff;
            this.rowMax = rowMax;
            this.rowInv = rowInv;
            this.rowD = rowD;
            this.kvStride = (long) s.kvHeads() * s.headDim();
        }

        /** Pass 1 for token t and the query heads of KV head g: statistics, D and dq_t. */
        void queries(int t, int g) {
            int d = s.headDim();
            int heads = s.group();
            int visible = t + 1;
            int firstRow = t * s.heads() + g * heads;
            float[] qs = buffer(0, heads * d);       // [heads, d]: q_t of the group's heads
            float[] dos = buffer(1, heads * d);      // [heads, d]: dOut_t
            float[] p = buffer(2, heads * visible);  // [heads, visible]: scores, then ds
            float[] dp = buffer(3, heads * visible); // [heads, visible]: dOut_t·v_j
            float[] acc = buffer(4, heads * d);      // [heads, d]: Σ_j ds_j k_j
            MemorySegment.copy(q, JAVA_FLOAT_UNALIGNED, (qOff + (long) firstRow * d) * 4, qs, 0, heads * d);
            MemorySegment.copy(dOut, JAVA_FLOAT_UNALIGNED, (dOutOff + (long) firstRow * d) * 4, dos, 0, heads * d);
            long kBase = kOff + (long) g * d;
            long vBase = vOff + (long) g * d;
            // Blocks of keys that stay in L1 while every head of the group uses them.
            for (int p0 = 0; p0 < visible; p0 += OldCpuAttention.BLOCK) {
                int p1 = Math.min(visible, p0 + OldCpuAttention.BLOCK);
                for (int h = 0; h < heads; h++) {
                    OldCpuAttention.scores(qs, h * d, k, kBase, kvStride, d, p0, p1, s.scale(), p, h * visible);
                    OldCpuAttention.scores(dos, h * d, v, vBase, kvStride, d, p0, p1, 1f, dp, h * visible);
                }
            }
            for (int h = 0; h < heads; h++) {
                int row = firstRow + h;
                float max = OldCpuAttention.max(p, h * visible, visible);
                float inv = 1f / OldCpuAttention.expInPlace(p, h * visible, visible, max);
                float delta = dot(dos, h * d, out, outOff + (long) row * d, d);
                rowMax[row] = max;
                rowInv[row] = inv;
                rowD[row] = delta;
                softmaxGrad(p, dp, h * visible, visible, inv, delta, s.scale());
            }
            Arrays.fill(acc, 0, heads * d, 0f);
            for (int p0 = 0; p0 < visible; p0 += OldCpuAttention.BLOCK) {
                int p1 = Math.min(visible, p0 + OldCpuAttention.BLOCK);
                for (int h = 0; h < heads; h++) {
                    OldCpuAttention.weightedValues(dp, h * visible, k, kBase, kvStride, d, p0, p1, acc, h * d);
                }
            }
            addInto(acc, 0, dq, dqOff + (long) firstRow * d, heads * d);
        }

        /** Pass 2 for keys [j0, j0 + KEY_BLOCK) of KV head g: their dk and dv, over all queries that see them. */
        void keys(int block, int g) {
            int d = s.headDim();
            int heads = s.group();
            int j0 = block * KEY_BLOCK;
            int j1 = Math.min(s.tokens(), j0 + KEY_BLOCK);
            int n = j1 - j0;
            float[] qt = buffer(0, d);           // q_t of one head
            float[] dOutT = buffer(1, d);        // dOut_t of that head
            float[] p = buffer(2, KEY_BLOCK);    // [keys]: scores, then p
            float[] ds = buffer(3, KEY_BLOCK);   // [keys]: dp, then scale·ds
            float[] dkAcc = buffer(4, n * d);    // [keys, d]
            float[] dvAcc = buffer(5, n * d);    // [keys, d]
            Arrays.fill(dkAcc, 0, n * d, 0f);
            Arrays.fill(dvAcc, 0, n * d, 0f);
            long kBase = kOff + (long) g * d;
            long vBase = vOff + (long) g * d;
            for (int t = j0; t < s.tokens(); t++) {
                int seen = Math.min(j1, t + 1) - j0;
                for (int h = 0; h < heads; h++) {
                    int row = t * s.heads() + g * heads + h;
                    MemorySegment.copy(q, JAVA_FLOAT_UNALIGNED, (qOff + (long) row * d) * 4, qt, 0, d);
                    MemorySegment.copy(dOut, JAVA_FLOAT_UNALIGNED, (dOutOff + (long) row * d) * 4, dOutT, 0, d);
                    // scores(..) writes position j at index at + j: at = −j0 puts key j0 at index 0.
                    OldCpuAttention.scores(qt, 0, k, kBase, kvStride, d, j0, j0 + seen, s.scale(), p, -j0);
                    OldCpuAttention.scores(dOutT, 0, v, vBase, kvStride, d, j0, j0 + seen, 1f, ds, -j0);
                    probabilities(p, seen, rowMax[row], rowInv[row]);
                    softmaxGrad(p, ds, 0, seen, 1f, rowD[row], s.scale());
                    for (int i = 0; i < seen; i++) {
                        axpy(p[i], dOutT, dvAcc, i * d, d);
                        axpy(ds[i], qt, dkAcc, i * d, d);
                    }
                }
            }
            // Rows j of dk, dv for KV head g are at (j·kvHeads + g)·d.
            for (int i = 0; i < n; i++) {
                long at = (long) (j0 + i) * kvStride + (long) g * d;
                addInto(dkAcc, i * d, dk, dkOff + at, d);
                addInto(dvAcc, i * d, dv, dvOff + at, d);
            }
        }
    }

    /** {@code p[0..n) = exp(p − max)·inv}: the saved softmax statistics applied to recomputed scores. */
    private static void probabilities(float[] p, int n, float max, float inv) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            Lanes.exp(FloatVector.fromArray(F, p, i).sub(max)).mul(inv).intoArray(p, i);
        }
        for (; i < n; i++) {
            p[i] = (float) Math.exp(p[i] - max) * inv;
        }
    }

    /**
     * Given e = p/inv at {@code p[at..at+n)} and dp at {@code dp[at..)}: {@code p = e·inv} and
     * {@code dp = scale·p·(dp − D)}, the score gradient with the 1/sqrt(d) of the scores folded in.
     */
    private static void softmaxGrad(float[] p, float[] dp, int at, int n, float inv, float delta, float scale) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector pv = FloatVector.fromArray(F, p, at + i).mul(inv);
            pv.intoArray(p, at + i);
            pv.mul(FloatVector.fromArray(F, dp, at + i).sub(delta)).mul(scale).intoArray(dp, at + i);
        }
        for (; i < n; i++) {
            float pv = p[at + i] * inv;
            p[at + i] = pv;
            dp[at + i] = pv * (dp[at + i] - delta) * scale;
        }
    }

    /** {@code a[aAt..aAt+d) · b[bAt..bAt+d)}, in the lane order every kernel here uses. */
    private static float dot(float[] a, int aAt, MemorySegment b, long bAt, int d) {
        int bound = d - d % L;
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j < bound; j += L) {
            acc = FloatVector.fromArray(F, a, aAt + j).fma(Lanes.f32(b, bAt + j), acc);
        }
        float sum = Lanes.sum(acc);
        for (; j < d; j++) {
            sum += a[aAt + j] * Lanes.getF(b, bAt + j);
        }
        return sum;
    }

    /** {@code y[yAt..yAt+d) += a·x[0..d)}. */
    private static void axpy(float a, float[] x, float[] y, int yAt, int d) {
        int bound = d - d % L;
        FloatVector av = FloatVector.broadcast(F, a);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector.fromArray(F, x, j).fma(av, FloatVector.fromArray(F, y, yAt + j)).intoArray(y, yAt + j);
        }
        for (; j < d; j++) {
            y[yAt + j] += a * x[j];
        }
    }

    /** {@code dst[dstAt..dstAt+n) += src[srcAt..srcAt+n)}: the accumulation into a gradient. */
    private static void addInto(float[] src, int srcAt, MemorySegment dst, long dstAt, int n) {
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            Lanes.store(Lanes.f32(dst, dstAt + j).add(FloatVector.fromArray(F, src, srcAt + j)), dst, dstAt + j);
        }
        for (; j < n; j++) {
            Lanes.setF(dst, dstAt + j, Lanes.getF(dst, dstAt + j) + src[srcAt + j]);
        }
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
