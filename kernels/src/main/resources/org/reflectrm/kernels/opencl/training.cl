// Training kernels: the backward passes of the row-wise and element-wise kernels, softmax
// cross-entropy and the AdamW step (the general matmul is in matmul.cl, built per weight type).
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

// ---- RoPE ----

/**
 * Rotation by the negative angle, in place: rope's layout and angles (invFreq from the host, as
 * rope), with sin negated, which maps RoPE's output gradient to its input gradient.
 */
__kernel void rope_inverse(__global float* x, ulong xOff, int rows, int heads, int headDim,
                           __global const int* positions, ulong posOff, __global const float* invFreq) {
    const int halfDim = headDim / 2;
    const size_t id = get_global_id(0);
    if (id >= (size_t)rows * heads * halfDim) {
        return;
    }
    const int i = id % halfDim;
    const size_t head = id / halfDim;
    const int r = head / heads;
    __global float* p = x + xOff + head * headDim;
    const float angle = (float)positions[posOff + r] * invFreq[i];
    const float c = cos(angle);
    const float s = sin(angle);
    const float x1 = p[i], x2 = p[i + halfDim];
    p[i] = x1 * c + x2 * s;
    p[i + halfDim] = x2 * c - x1 * s;
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
