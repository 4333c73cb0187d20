// Training kernels: the backward passes of the row-wise and element-wise kernels and of
// attention, softmax cross-entropy and the AdamW step (the general matmul is in matmul.cl, built
// per weight type).
// A program of its own, built on first use, so inference never compiles it. Every gradient
// output accumulates (dx += ...), as in the CPU backend.
//
// Contraction of a*b + c into fma is off for this file: with it off, each kernel does the CPU
// backend's operations in its order (only sums over a row may run in another order), which
// AdamW's update in particular relies on to agree with the CPU and torch.
#pragma OPENCL FP_CONTRACT OFF

#define TRAIN_WG 256
/** Rows per F32 partial of RMSNorm's dw, as the CPU backend (CpuElementwiseBackward.ROW_BLOCK). */
#define DW_ROW_BLOCK 32

// ---- RMSNorm ----

/**
 * One work-group per row: with g = dy * w and r = 1/sqrt(mean(x^2) + eps),
 * dx += r*g - x * r^3 * mean(g*x). Stores r in invRms[row] for the dw kernels.
 */
__kernel __attribute__((reqd_work_group_size(TRAIN_WG, 1, 1)))
void rms_norm_backward(__global const float* x, ulong xOff, __global const uchar* w, ulong wOff, int wType,
                       __global const float* dy, ulong dyOff, __global float* dx, ulong dxOff,
                       __global float* invRms, int dim, float eps) {
    __local float scratch[TRAIN_WG];
    const size_t row = get_group_id(0);
    const int lid = get_local_id(0);
    x += xOff + row * dim;
    dy += dyOff + row * dim;
    dx += dxOff + row * dim;
    float ss = 0.0f, gx = 0.0f;
    for (int i = lid; i < dim; i += TRAIN_WG) {
        const float v = x[i];
        ss += v * v;
        gx += dy[i] * load_any(w, wType, wOff + i) * v;
    }
    ss = group_sum(ss, scratch);
    gx = group_sum(gx, scratch);
    const float inv = 1.0f / sqrt(ss / dim + eps);
    const float coef = inv * inv * inv * (gx / dim);
    for (int i = lid; i < dim; i += TRAIN_WG) {
        const float g = dy[i] * load_any(w, wType, wOff + i);
        dx[i] += g * inv - x[i] * coef;
    }
    if (lid == 0) {
        invRms[row] = inv;
    }
}

// dw in two passes over fixed blocks of rows, as the CPU backend sums it: scratch holds the rows'
// inverse RMS (from rms_norm_backward), then partials[blocks, dim].

/**
 * partials[block, j] = sum over the block's rows, in row order, of dy * x * r: one work-item per
 * (column, block of DW_ROW_BLOCK rows). Fixed blocks, so the sum's order never depends on the device.
 */
__kernel void rms_norm_weight_partials(__global const float* x, ulong xOff, __global const float* dy, ulong dyOff,
                                       __global float* scratch, int rows, int dim) {
    const int j = get_global_id(0);
    const int block = get_global_id(1);
    if (j >= dim) {
        return;
    }
    __global const float* invRms = scratch;
    __global float* partials = scratch + rows;
    const int end = min(rows, (block + 1) * DW_ROW_BLOCK);
    float sum = 0.0f;
    for (int r = block * DW_ROW_BLOCK; r < end; r++) {
        const size_t at = (size_t)r * dim + j;
        sum += dy[dyOff + at] * x[xOff + at] * invRms[r];
    }
    partials[(size_t)block * dim + j] = sum;
}

/** dw[j] += the partials of column j summed in block order: one work-item per column. */
__kernel void rms_norm_weight_sum(__global const float* scratch, int rows, int blocks, int dim,
                                  __global float* dw, ulong dwOff) {
    const int j = get_global_id(0);
    if (j >= dim) {
        return;
    }
    __global const float* partials = scratch + rows;
    float total = 0.0f;
    for (int b = 0; b < blocks; b++) {
        total += partials[(size_t)b * dim + j];
    }
    dw[dwOff + j] += total;
}

// ---- SwiGLU ----

/**
 * With s = 1/(1 + e^-g): dUp += dOut * g*s, dGate += (dOut * up) * s*(1 + g*(1 - s)). Saturates
 * without NaN: e^-g = inf gives s = 0 (silu -0, silu' 0); e^-g = 0 gives s = 1 (silu' 1).
 */
__kernel void swiglu_backward(__global const float* gate, ulong gateOff, __global const float* up, ulong upOff,
                              __global const float* dOut, ulong dOutOff,
                              __global float* dGate, ulong dGateOff, __global float* dUp, ulong dUpOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float g = gate[gateOff + i];
    const float sig = 1.0f / (1.0f + exp(-g));
    const float silu = g * sig;
    const float siluPrime = sig * (1.0f + g * (1.0f - sig));
    const float d = dOut[dOutOff + i];
    dUp[dUpOff + i] += d * silu;
    dGate[dGateOff + i] += (d * up[upOff + i]) * siluPrime;
}

// ---- Embedding ----

/**
 * dTable[ids[i], j] += dOut[i, j]: one work-item per column j walking i in order, so repeated ids
 * add in order of i (the CPU's bits) and no two work-items touch one element. An id outside
 * [0, vocab) is skipped rather than written out of bounds (the forward already made its row NaN).
 */
__kernel void embedding_backward(__global const int* ids, ulong idsOff, int rows,
                                 __global const float* dOut, ulong dOutOff, int dim, long vocab,
                                 __global float* dTable, ulong dTableOff) {
    const int j = get_global_id(0);
    if (j >= dim) {
        return;
    }
    for (int i = 0; i < rows; i++) {
        const int id = ids[idsOff + i];
        if (id >= 0 && id < vocab) {
            dTable[dTableOff + (size_t)id * dim + j] += dOut[dOutOff + (size_t)i * dim + j];
        }
    }
}

// ---- Cross-entropy ----

/**
 * One work-group per row of logits, in place: loss = logsumexp(row) - row[target], and the row
 * becomes weight * (softmax(row) - onehot(target)); a row of weight 0 becomes zero with loss 0.
 * A target outside [0, cols) (the CPU backend refuses it) gives loss NaN and no one-hot term.
 */
__kernel __attribute__((reqd_work_group_size(TRAIN_WG, 1, 1)))
void cross_entropy(__global float* x, ulong xOff, int cols, __global const int* targets, ulong targetsOff,
                   __global const float* weights, ulong weightsOff, __global float* losses, ulong lossesOff) {
    __local float scratch[TRAIN_WG];
    const size_t row = get_group_id(0);
    const int lid = get_local_id(0);
    x += xOff + row * cols;
    const float weight = weights[weightsOff + row];
    if (weight == 0.0f) {
        // Uniform for the whole group, so returning before the barriers below is fine.
        for (int i = lid; i < cols; i += TRAIN_WG) {
            x[i] = 0.0f;
        }
        if (lid == 0) {
            losses[lossesOff + row] = 0.0f;
        }
        return;
    }
    const int target = targets[targetsOff + row];
    const bool valid = target >= 0 && target < cols;
    // Read before group_max's barriers, so before any work-item overwrites the row.
    const float targetLogit = valid ? x[target] : NAN;
    float m = -INFINITY;
    for (int i = lid; i < cols; i += TRAIN_WG) {
        m = fmax(m, x[i]);
    }
    m = group_max(m, scratch);
    // exp(x - max) <= 1, so large logits cannot overflow.
    float sum = 0.0f;
    for (int i = lid; i < cols; i += TRAIN_WG) {
        const float e = exp(x[i] - m);
        x[i] = e;
        sum += e;
    }
    sum = group_sum(sum, scratch);
    const float factor = weight / sum;
    for (int i = lid; i < cols; i += TRAIN_WG) {
        const float g = x[i] * factor;
        x[i] = i == target ? g - weight : g;
    }
    if (lid == 0) {
        // The difference first: both terms are near the max, so it loses nothing.
        losses[lossesOff + row] = (m - targetLogit) + log(sum);
    }
}

// ---- AdamW ----

/**
 * One AdamW step per element, AdamWStep's operations in its order (contraction off, see the top):
 *   p = p * decay;  m = lerp(m, g, w) as fma(g - m, coeff, small ? m : g);
 *   v = v * beta2 + (c2 * g) * g;  p = p + (negStepSize * m) / (sqrt(v) / bc2Sqrt + eps).
 */
__kernel void adam_w(__global float* param, ulong paramOff, __global const float* grad, ulong gradOff,
                     __global float* m, ulong mOff, __global float* v, ulong vOff, ulong n,
                     float decay, int smallLerp, float coeff, float beta2, float oneMinusBeta2, float bc2Sqrt,
                     float eps, float negStepSize) {
    const size_t i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float g = grad[gradOff + i];
    float p = param[paramOff + i] * decay;
    float mi = m[mOff + i];
    mi = fma(g - mi, coeff, smallLerp ? mi : g);
    const float vi = v[vOff + i] * beta2 + (oneMinusBeta2 * g) * g;
    const float denom = sqrt(vi) / bc2Sqrt + eps;
    p = p + (negStepSize * mi) / denom;
    param[paramOff + i] = p;
    m[mOff + i] = mi;
    v[vOff + i] = vi;
}

/**
 * One SGD step (SgdStep's arithmetic, FP_CONTRACT off above): d = fma(p, wd, g); with momentum,
 * d = first ? d : buf * momentum + d (a product and a sum), stored to buf; p = fma(d, negLr, p).
 * Without momentum buf is any buffer and is not touched.
 */
__kernel void sgd(__global float* param, ulong paramOff, __global const float* grad, ulong gradOff,
                  __global float* buf, ulong bufOff, ulong n, int hasMomentum, int first, float momentum,
                  float wd, float negLr) {
    const size_t i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float p = param[paramOff + i];
    float d = fma(p, wd, grad[gradOff + i]);
    if (hasMomentum) {
        if (!first) {
            d = buf[bufOff + i] * momentum + d;
        }
        buf[bufOff + i] = d;
    }
    param[paramOff + i] = fma(d, negLr, p);
}

// ---- Sum of squares (gradient clipping) ----

/** Elements per work-item of sum_of_squares: a block is SumOfSquares.BLOCK = TRAIN_WG * 16 elements. */
#define SUMSQ_PER_ITEM 16

/**
 * One work-group per block of TRAIN_WG * SUMSQ_PER_ITEM elements writes the F32 sum of their
 * squares to partials[pOff + block] (pOff places several vectors' block sums one after another), in SumOfSquares' fixed order (the CUDA kernel's too): work-item t
 * adds elements t, t + TRAIN_WG, ... in turn, then the sums are added by halving strides.
 */
__kernel __attribute__((reqd_work_group_size(TRAIN_WG, 1, 1)))
void sum_of_squares(__global const float* x, ulong xOff, ulong n, __global float* partials, ulong pOff) {
    __local float sums[TRAIN_WG];
    const int lid = get_local_id(0);
    const ulong base = get_group_id(0) * (ulong) (TRAIN_WG * SUMSQ_PER_ITEM);
    float acc = 0.0f;
    for (int j = 0; j < SUMSQ_PER_ITEM; j++) {
        const ulong i = base + (ulong) j * TRAIN_WG + lid;
        if (i < n) {
            const float v = x[xOff + i];
            acc = acc + v * v;
        }
    }
    sums[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = TRAIN_WG / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            sums[lid] = sums[lid] + sums[lid + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        partials[pOff + get_group_id(0)] = sums[0];
    }
}

// ---- Attention ----

// Backward of causal GQA self-attention over one sequence (startPos 0), in two passes that
// recompute the probabilities instead of storing them. With s_j = scale*q.k_j, p = softmax(s),
// dp_j = dOut.v_j, D = sum_j p_j*dp_j and ds_j = p_j*(dp_j - D)*scale:
//   dq_t += sum_j ds_j*k_j,  dk_j += sum_t ds*q_t,  dv_j += sum_t p*dOut_t.
// D comes from the very p and dp that ds is made of (not dOut.out), so a row with a single
// visible key gets ds = 0 exactly, as the softmax's gradient is. Each gradient element is summed
// by one work-item in a fixed order: no atomics, so the bits never depend on scheduling.
//  - attention_backward_queries, one work-group per (query token, head): the row's statistics
//    (max, 1/sum, D), saved to stats[3][tokens*heads], and dq.
//  - attention_backward_keys, one work-group per (key, KV head): dk and dv over every
//    (query token >= key, head of the group), with p and ds recomputed from the statistics.
// Both passes compute s and dp through attb_pairs, so they agree on them bit for bit.

#define ATTB_WG 128
/** Keys (queries pass) or query rows (keys pass) per tile in local memory; ATTB_WG = 4 * ATTB_TILE. */
#define ATTB_TILE 32
/** Largest head dimension, as MAX_D in attention.cl (ATT_MAX_HEAD_DIM on the host). */
#define ATTB_MAX_D 128
#define ATTB_PAD (ATTB_MAX_D + 1)   // tile row stride: one work-item per row reads without bank conflicts

inline float attb_dot(__local const float* a, __local const float* b, int from, int to) {
    float sum = 0.0f;
    for (int c = from; c < to; c++) {
        sum += a[c] * b[c];
    }
    return sum;
}

/**
 * The ATTB_TILE pairs (query row i, key i) of a tile, with row i of q, dO at q + i*qStride and of
 * k, v at k + i*kStride (stride 0: the one row every pair shares): work-item
 * (half, kind, i) = lid sums half of the head dimension of q.k (kind 0) or dO.v (kind 1) into
 * partial[lid]; attb_score and attb_dp add the halves in a fixed order. Needs a barrier after.
 */
inline void attb_pairs(__local const float* q, __local const float* dO, int qStride,
                       __local const float* k, __local const float* v, int kStride, int d,
                       __local float* partial) {
    const int lid = get_local_id(0);
    const int i = lid % ATTB_TILE;
    const int kind = (lid / ATTB_TILE) & 1;
    const int mid = (d + 1) / 2;
    const int from = lid < 2 * ATTB_TILE ? 0 : mid;
    const int to = lid < 2 * ATTB_TILE ? mid : d;
    // Pick the operands, then make one call: PoCL 3.1 computed dO.v for both arms of
    // "kind == 0 ? attb_dot(q, k) : attb_dot(dO, v)" in the keys pass.
    __local const float* a = (kind == 0 ? q : dO) + i * qStride;
    __local const float* b = (kind == 0 ? k : v) + i * kStride;
    partial[lid] = attb_dot(a, b, from, to);
}

inline float attb_score(__local const float* partial, int i, float scale) {
    return (partial[i] + partial[2 * ATTB_TILE + i]) * scale;
}

inline float attb_dp(__local const float* partial, int i) {
    return partial[ATTB_TILE + i] + partial[3 * ATTB_TILE + i];
}

/**
 * Rows first .. first+count (count <= ATTB_TILE) of a and b into tiles of stride ATTB_PAD, zeros
 * beyond count. Row r lies at ((r / per) * outer + r % per) * d from the base: per = 1 walks
 * tokens of one KV head, per = group walks (token, head of the group).
 */
inline void attb_load(__local float* ta, __local float* tb, __global const float* a, __global const float* b,
                      int first, int count, int per, size_t outer, int d) {
    for (int idx = get_local_id(0); idx < ATTB_TILE * d; idx += ATTB_WG) {
        const int r = idx / d, c = idx % d;
        float x = 0.0f, y = 0.0f;
        if (r < count) {
            const int row = first + r;
            const size_t at = ((size_t)(row / per) * outer + (size_t)(row % per) * d) + c;
            x = a[at];
            y = b[at];
        }
        ta[r * ATTB_PAD + c] = x;
        tb[r * ATTB_PAD + c] = y;
    }
}

__kernel __attribute__((reqd_work_group_size(ATTB_WG, 1, 1)))
void attention_backward_queries(__global const float* q, ulong qOff, __global const float* k, ulong kOff,
                                __global const float* v, ulong vOff, __global const float* dOut, ulong dOutOff,
                                __global float* dq, ulong dqOff, __global float* stats,
                                int tokens, int heads, int kvHeads, int d, float scale) {
    __local float qs[ATTB_MAX_D], dos[ATTB_MAX_D];
    __local float ks[ATTB_TILE * ATTB_PAD], vs[ATTB_TILE * ATTB_PAD];
    __local float partial[ATTB_WG];
    __local float ds[ATTB_TILE];
    __local float laneMax[ATTB_TILE], laneSum[ATTB_TILE], laneDot[ATTB_TILE];
    __local float row_stats[3];
    const int lid = get_local_id(0);
    const int t = tokens - 1 - get_group_id(0);   // the longest rows first
    const int h = get_group_id(1);
    const int g = h / (heads / kvHeads);
    const size_t rows = (size_t)tokens * heads;
    const size_t row = (size_t)t * heads + h;
    __global const float* kg = k + kOff + (size_t)g * d;
    __global const float* vg = v + vOff + (size_t)g * d;
    const size_t kvStride = (size_t)kvHeads * d;
    for (int c = lid; c < d; c += ATTB_WG) {
        qs[c] = q[qOff + row * d + c];
        dos[c] = dOut[dOutOff + row * d + c];
    }
    const int keys = t + 1;

    // Sweep 1: lane i < ATTB_TILE keeps an online softmax over keys i, i + TILE, ...: its max m,
    // l = sum e^(s - m) and a = sum e^(s - m)*dp, rescaled when m grows.
    float m = -INFINITY, l = 0.0f, a = 0.0f;
    for (int j0 = 0; j0 < keys; j0 += ATTB_TILE) {
        barrier(CLK_LOCAL_MEM_FENCE);   // the previous tile and partials are no longer read
        attb_load(ks, vs, kg, vg, j0, min(ATTB_TILE, keys - j0), 1, kvStride, d);
        barrier(CLK_LOCAL_MEM_FENCE);
        attb_pairs(qs, dos, 0, ks, vs, ATTB_PAD, d, partial);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < ATTB_TILE && j0 + lid < keys) {
            const float s = attb_score(partial, lid, scale);
            const float dp = attb_dp(partial, lid);
            const float mNew = fmax(m, s);
            const float rescale = exp(m - mNew);   // 0 while m is still -inf
            const float e = exp(s - mNew);
            l = l * rescale + e;
            a = a * rescale + e * dp;
            m = mNew;
        }
    }
    if (lid < ATTB_TILE) {
        laneMax[lid] = m;
        laneSum[lid] = l;
        laneDot[lid] = a;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        float mx = -INFINITY;
        for (int i = 0; i < ATTB_TILE; i++) {
            mx = fmax(mx, laneMax[i]);
        }
        float sum = 0.0f, weighted = 0.0f;
        for (int i = 0; i < ATTB_TILE; i++) {
            if (laneMax[i] != -INFINITY) {   // a lane that saw no key adds nothing
                const float f = exp(laneMax[i] - mx);
                sum += laneSum[i] * f;
                weighted += laneDot[i] * f;
            }
        }
        const float inv = 1.0f / sum;
        // D = sum_j (e_j*inv)*dp_j up to rounding; with one key, e = 1 and inv = 1, so D = dp exactly.
        const float delta = weighted * inv;
        row_stats[0] = mx;
        row_stats[1] = inv;
        row_stats[2] = delta;
        stats[row] = mx;
        stats[rows + row] = inv;
        stats[2 * rows + row] = delta;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const float mx = row_stats[0], inv = row_stats[1], delta = row_stats[2];

    // Sweep 2: ds per key, then dq[c] += sum_j ds_j*k_j[c] by work-item c, j in order.
    float acc = 0.0f;
    for (int j0 = 0; j0 < keys; j0 += ATTB_TILE) {
        const int count = min(ATTB_TILE, keys - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        attb_load(ks, vs, kg, vg, j0, count, 1, kvStride, d);
        barrier(CLK_LOCAL_MEM_FENCE);
        attb_pairs(qs, dos, 0, ks, vs, ATTB_PAD, d, partial);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < ATTB_TILE) {
            float grad = 0.0f;
            if (lid < count) {
                const float p = exp(attb_score(partial, lid, scale) - mx) * inv;
                grad = p * (attb_dp(partial, lid) - delta) * scale;
            }
            ds[lid] = grad;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < d) {
            for (int j = 0; j < count; j++) {
                acc += ds[j] * ks[j * ATTB_PAD + lid];
            }
        }
    }
    if (lid < d) {
        dq[dqOff + row * d + lid] += acc;
    }
}

__kernel __attribute__((reqd_work_group_size(ATTB_WG, 1, 1)))
void attention_backward_keys(__global const float* q, ulong qOff, __global const float* k, ulong kOff,
                             __global const float* v, ulong vOff, __global const float* dOut, ulong dOutOff,
                             __global const float* stats, __global float* dk, ulong dkOff,
                             __global float* dv, ulong dvOff, int tokens, int heads, int kvHeads, int d,
                             float scale) {
    __local float ks[ATTB_MAX_D], vs[ATTB_MAX_D];
    __local float qs[ATTB_TILE * ATTB_PAD], dos[ATTB_TILE * ATTB_PAD];
    __local float partial[ATTB_WG];
    __local float ps[ATTB_TILE], ds[ATTB_TILE];
    const int lid = get_local_id(0);
    const int j = get_group_id(0);   // the earliest keys, seen by the most queries, first
    const int g = get_group_id(1);
    const int group = heads / kvHeads;
    const size_t statRows = (size_t)tokens * heads;
    const size_t kvRow = (size_t)j * kvHeads + g;
    for (int c = lid; c < d; c += ATTB_WG) {
        ks[c] = k[kOff + kvRow * d + c];
        vs[c] = v[vOff + kvRow * d + c];
    }
    // Rows (token j + r / group, head g*group + r % group): tokens before j do not see key j.
    const int rows = (tokens - j) * group;
    const size_t first = (size_t)j * heads + (size_t)g * group;   // row 0, in [tokens, heads]
    __global const float* qg = q + qOff + first * d;
    __global const float* dog = dOut + dOutOff + first * d;
    const size_t qStride = (size_t)heads * d;
    float dkAcc = 0.0f, dvAcc = 0.0f;
    for (int r0 = 0; r0 < rows; r0 += ATTB_TILE) {
        const int count = min(ATTB_TILE, rows - r0);
        barrier(CLK_LOCAL_MEM_FENCE);
        attb_load(qs, dos, qg, dog, r0, count, group, qStride, d);
        barrier(CLK_LOCAL_MEM_FENCE);
        attb_pairs(qs, dos, ATTB_PAD, ks, vs, 0, d, partial);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < ATTB_TILE) {
            float p = 0.0f, grad = 0.0f;
            if (lid < count) {
                const int r = r0 + lid;
                const size_t at = first + (size_t)(r / group) * heads + r % group;
                p = exp(attb_score(partial, lid, scale) - stats[at]) * stats[statRows + at];
                grad = p * (attb_dp(partial, lid) - stats[2 * statRows + at]) * scale;
            }
            ps[lid] = p;
            ds[lid] = grad;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < d) {
            for (int i = 0; i < count; i++) {
                dvAcc += ps[i] * dos[i * ATTB_PAD + lid];
                dkAcc += ds[i] * qs[i * ATTB_PAD + lid];
            }
        }
    }
    if (lid < d) {
        dk[dkOff + kvRow * d + lid] += dkAcc;
        dv[dvOff + kvRow * d + lid] += dvAcc;
    }
}
