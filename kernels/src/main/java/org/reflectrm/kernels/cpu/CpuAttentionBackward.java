package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.AttentionShape;

/**
 * Backward of causal GQA self-attention (startPos 0; k, v hold exactly the sequence), in the
 * FlashAttention-2 manner, as blocked matrix products (see {@link AttentionBlocks} for the
 * head-major layout and the row order). For query token t, head h (KV head g = h / group) and
 * keys j ≤ t:
 * <pre>
 *   s_j = scale·q_t·k_j,  p = softmax(s),  dp_j = dOut_t·v_j,  D = dOut_t·out_t,  ds_j = p_j·(dp_j − D)
 *   dq_t += scale·Σ_j ds_j·k_j,   dk_j += scale·ds_j·q_t,   dv_j += p_j·dOut_t
 * </pre>
 * Probabilities are recomputed from q and k, never stored whole: a task holds at most
 * {@code [tokens·group, BLOCK]} of them, so memory is O(tokens), not O(tokens²).
 * D is computed as {@code Σ_j p_j·dp_j}, which equals {@code dOut_t·out_t} but comes from the
 * very p and dp that ds is made of: then Σ_j ds_j is 0 up to rounding, and a row with one visible
 * key (the first token) gets ds = 0 exactly, as the softmax's gradient is. So {@code out} is not
 * read.
 *
 * <p>dq sums over keys while dk and dv sum over queries, so there are two passes, and in each
 * every gradient element is summed by one task in a fixed order (no atomics, no split that
 * depends on the thread count), which makes the bits independent of the number of threads:
 * <ol>
 *   <li>Queries, one task per (block of query tokens, KV head g), rows (token, head of the
 *       group): {@code S = Q·Kᵀ}, the softmax (saving each row's max and 1/sum),
 *       {@code dP = dOut·Vᵀ}, D (saved too), {@code dS}, and {@code dQ += dS·K}.</li>
 *   <li>Keys, one task per (block of keys c, KV head g): every query row from the block's first
 *       token on, at once: {@code S = Q·K_cᵀ}, P from the saved statistics, {@code dP = dOut·V_cᵀ},
 *       {@code dS}, then {@code dK_c += dSᵀ·Q} and {@code dV_c += Pᵀ·dOut}.</li>
 * </ol>
 * Both passes have many tasks even with few KV heads, so every core has work; the price is
 * computing S and dP twice.
 */
final class CpuAttentionBackward {
    private static final int BLOCK = AttentionBlocks.BLOCK;

    private final Parallel parallel;
    private final PackedGemm gemm;
    /** The calling thread's per-call buffers: Q, dOut, K, V head-major. */
    private final Scratch calls = new Scratch(4);
    /** Per-task buffers. */
    private final Scratch tasks = new Scratch(4);

    CpuAttentionBackward(Parallel parallel) {
        this.parallel = parallel;
        this.gemm = new PackedGemm(parallel, PackedGemm.DEFAULT);
    }

    void attentionBackward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                           MemorySegment out, long outOff, MemorySegment dOut, long dOutOff,
                           MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff,
                           AttentionShape s) {
        if (s.startPos() != 0) {
            throw new IllegalArgumentException("attention backward needs startPos 0, got " + s);
        }
        int tokens = s.tokens();
        if (tokens == 0) {
            return;
        }
        int kvHeads = s.kvHeads();
        int rows = tokens * s.heads();
        int d = s.headDim();
        long kvSize = (long) tokens * kvHeads * d;
        Job job = new Job(s, calls.get(0, (long) rows * d), calls.get(1, (long) rows * d), calls.get(2, kvSize),
                calls.get(3, kvSize), new float[rows], new float[rows], new float[rows], dq, dqOff, dk, dkOff, dv, dvOff);
        parallel.forRange(tokens, 1, (from, to) -> {
            AttentionBlocks.headMajor(q, qOff, tokens, kvHeads, s.group() * d, job.qh(), from, to);
            AttentionBlocks.headMajor(dOut, dOutOff, tokens, kvHeads, s.group() * d, job.doh(), from, to);
            AttentionBlocks.headMajor(k, kOff, tokens, kvHeads, d, job.kh(), from, to);
            AttentionBlocks.headMajor(v, vOff, tokens, kvHeads, d, job.vh(), from, to);
        });
        int blocks = PackedGemm.ceilDiv(tokens, BLOCK);
        // Longest tasks first (late query blocks see the most keys; early key blocks are seen by
        // the most queries), so the last task to start is a short one.
        parallel.forEach(blocks * kvHeads, i -> queries(job, blocks - 1 - i / kvHeads, i % kvHeads));
        parallel.forEach(blocks * kvHeads, i -> keys(job, i / kvHeads, i % kvHeads));
    }

    /**
     * One call's operands. qh, doh: {@code [kvHeads][tokens·group, d]}; kh, vh:
     * {@code [kvHeads][tokens, d]}. The first pass saves, per row of qh (index
     * {@code g·tokens·group + t·group + hh}), the row max of the scaled scores, 1/Σexp(s − max),
     * and D, for the second. Gradients are element offsets into the caller's buffers.
     */
    private record Job(AttentionShape s, MemorySegment qh, MemorySegment doh, MemorySegment kh, MemorySegment vh,
                       float[] rowMax, float[] rowInv, float[] rowD,
                       MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff) {
    }

    /** Pass 1 for query tokens [t0, t1) of block b and the heads of KV head g: statistics, D, dq. */
    private void queries(Job job, int b, int g) {
        AttentionShape s = job.s();
        int d = s.headDim();
        int group = s.group();
        int tokens = s.tokens();
        int t0 = b * BLOCK;
        int t1 = Math.min(tokens, t0 + BLOCK);
        int m = (t1 - t0) * group;             // rows (token, head of the group)
        int n = t1;                            // keys the block's last token sees
        int row0 = (g * tokens + t0) * group;  // first row in qh, doh and the statistics
        long kvAt = (long) g * tokens * d;
        MemorySegment p = tasks.get(0, (long) m * n);    // [m, n]: S, then P
        MemorySegment dp = tasks.get(1, (long) m * n);   // [m, n]: dP, then scale·dS
        MemorySegment acc = tasks.get(2, (long) m * d);  // [m, d]: dQ of the block
        AttentionBlocks.abT(gemm, job.qh(), (long) row0 * d, job.kh(), kvAt, p, m, n, d);
        AttentionBlocks.softmax(p, m, n, t0 + 1, group, s.scale(), job.rowMax(), job.rowInv(), row0);
        AttentionBlocks.abT(gemm, job.doh(), (long) row0 * d, job.vh(), kvAt, dp, m, n, d);
        for (int r = 0; r < m; r++) {
            long row = (long) r * n;
            float delta = AttentionBlocks.dot(p, dp, row, AttentionBlocks.visible(r, t0 + 1, group, n));
            job.rowD()[row0 + r] = delta;
            AttentionBlocks.softmaxGrad(p, dp, row, n, delta, s.scale());
        }
        AttentionBlocks.ab(gemm, dp, 0, job.kh(), kvAt, acc, m, d, n);
        // The group's heads of token t are adjacent in dq: group·d floats per token.
        for (int t = t0; t < t1; t++) {
            long at = job.dqOff() + ((long) t * s.kvHeads() + g) * group * d;
            AttentionBlocks.addInto(acc, (long) (t - t0) * group * d, job.dq(), at, group * d);
        }
    }

    /** Pass 2 for keys [c0, c1) of block c and KV head g: their dk and dv, over every query row that sees them. */
    private void keys(Job job, int c, int g) {
        AttentionShape s = job.s();
        int d = s.headDim();
        int group = s.group();
        int tokens = s.tokens();
        int c0 = c * BLOCK;
        int c1 = Math.min(tokens, c0 + BLOCK);
        int n = c1 - c0;                       // keys
        int m = (tokens - c0) * group;         // rows of tokens c0.. (earlier ones see none of these keys)
        int row0 = (g * tokens + c0) * group;
        long kvAt = ((long) g * tokens + c0) * d;
        long qAt = (long) row0 * d;
        MemorySegment p = tasks.get(0, (long) m * n);       // [m, n]: S, then P
        MemorySegment ds = tasks.get(1, (long) m * n);      // [m, n]: dP, then scale·dS
        MemorySegment dkAcc = tasks.get(2, (long) n * d);   // [n, d]
        MemorySegment dvAcc = tasks.get(3, (long) n * d);   // [n, d]
        AttentionBlocks.abT(gemm, job.qh(), qAt, job.kh(), kvAt, p, m, n, d);
        // Row r is token c0 + r / group, which sees keys c0..c0 + r / group of the block.
        AttentionBlocks.probabilities(p, m, n, 1, group, s.scale(), job.rowMax(), job.rowInv(), row0);
        AttentionBlocks.abT(gemm, job.doh(), qAt, job.vh(), kvAt, ds, m, n, d);
        for (int r = 0; r < m; r++) {
            AttentionBlocks.softmaxGrad(p, ds, (long) r * n, n, job.rowD()[row0 + r], s.scale());
        }
        AttentionBlocks.aTb(gemm, ds, 0, job.qh(), qAt, dkAcc, n, d, m);
        AttentionBlocks.aTb(gemm, p, 0, job.doh(), qAt, dvAcc, n, d, m);
        // Row j of dk, dv for KV head g is at (j·kvHeads + g)·d.
        for (int j = c0; j < c1; j++) {
            long at = ((long) j * s.kvHeads() + g) * d;
            AttentionBlocks.addInto(dkAcc, (long) (j - c0) * d, job.dk(), job.dkOff() + at, d);
            AttentionBlocks.addInto(dvAcc, (long) (j - c0) * d, job.dv(), job.dvOff() + at, d);
        }
    }
}
