// Row-wise and element-wise kernels. Row kernels run one work-group per row and reduce in
// local memory; element-wise ones run one work-item per element.

#define ROW_WG 256
#define QKV_WG 64

/** y[row] = x[row] * invRms * w; one work-group per row. May run in place (all reads of x precede the writes). */
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void rms_norm(__global const float* x, ulong xOff, __global const uchar* w, ulong wOff, int wType,
              __global float* y, ulong yOff, int dim, float eps) {
    __local float scratch[ROW_WG];
    const size_t row = get_group_id(0);
    x += xOff + row * dim;
    y += yOff + row * dim;
    const float inv = group_inv_rms(x, dim, eps, scratch);
    for (int i = get_local_id(0); i < dim; i += ROW_WG) {
        y[i] = (x[i] * inv) * load_any(w, wType, wOff + i);
    }
}

/**
 * Rotates pair (i, i + halfDim) of p by angle pos * invFreq[i], or by its negative when sinSign
 * is -1 (RoPE's inverse, which maps its output gradient to its input gradient). invFreq comes
 * from the host, computed exactly as transformers does, because a float pow here may differ by
 * an ulp and positions in the tens of thousands amplify that into visible error.
 */
inline void rotate_pair(__global float* p, int i, int halfDim, float n1, float n2, int pos,
                        __global const float* invFreq, float sinSign) {
    const float angle = (float)pos * invFreq[i];
    const float c = cos(angle);
    const float s = sinSign * sin(angle);
    p[i] = n1 * c - n2 * s;
    p[i + halfDim] = n2 * c + n1 * s;
}

/**
 * Rotate-half RoPE in place on x[rows, heads, headDim], or its inverse with sinSign -1: one
 * work-item per rotated pair.
 */
__kernel void rope(__global float* x, ulong xOff, int rows, int heads, int headDim,
                   __global const int* positions, ulong posOff, __global const float* invFreq, float sinSign) {
    const int halfDim = headDim / 2;
    const size_t id = get_global_id(0);
    if (id >= (size_t)rows * heads * halfDim) {
        return;
    }
    const int i = id % halfDim;
    const size_t head = id / halfDim;
    const int r = head / heads;
    __global float* p = x + xOff + head * headDim;
    rotate_pair(p, i, halfDim, p[i], p[i + halfDim], positions[posOff + r], invFreq, sinSign);
}

/**
 * The fused QKV split: one work-group per (head slot, row); slots are the q heads, then the k
 * heads (RMSNorm + RoPE, written to q and the K cache), then the v heads (copied to the V cache).
 */
__kernel __attribute__((reqd_work_group_size(QKV_WG, 1, 1)))
void split_qkv(__global const float* qkv, ulong qkvOff, int heads, int kvHeads, int headDim,
               __global const uchar* qNorm, ulong qNormOff, __global const uchar* kNorm, ulong kNormOff,
               int normType, float eps,
               __global const int* positions, ulong posOff, __global const float* invFreq,
               __global float* q, ulong qOff, __global float* kCache, ulong kOff,
               __global float* vCache, ulong vOff) {
    __local float scratch[QKV_WG];
    const int slot = get_group_id(0);
    const size_t r = get_group_id(1);
    const int lid = get_local_id(0);
    const int width = (heads + 2 * kvHeads) * headDim;
    __global const float* src = qkv + qkvOff + r * width + (size_t)slot * headDim;

    if (slot >= heads + kvHeads) {
        // Uniform for the whole group, so returning before the barriers below is fine.
        __global float* dst = vCache + vOff + (r * kvHeads + (slot - heads - kvHeads)) * headDim;
        for (int i = lid; i < headDim; i += QKV_WG) {
            dst[i] = src[i];
        }
        return;
    }
    const bool isQ = slot < heads;
    __global float* dst = isQ ? q + qOff + (r * heads + slot) * headDim
                              : kCache + kOff + (r * kvHeads + (slot - heads)) * headDim;
    __global const uchar* gamma = isQ ? qNorm : kNorm;
    const ulong gammaOff = isQ ? qNormOff : kNormOff;
    const float inv = group_inv_rms(src, headDim, eps, scratch);
    const int halfDim = headDim / 2;
    const int pos = positions[posOff + r];
    for (int i = lid; i < halfDim; i += QKV_WG) {
        float n1 = (src[i] * inv) * load_any(gamma, normType, gammaOff + i);
        float n2 = (src[i + halfDim] * inv) * load_any(gamma, normType, gammaOff + i + halfDim);
        rotate_pair(dst, i, halfDim, n1, n2, pos, invFreq, 1.0f);
    }
}

__kernel void swiglu(__global const float* gate, ulong gateOff, __global const float* up, ulong upOff,
                     __global float* out, ulong outOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        float g = gate[gateOff + i];
        out[outOff + i] = g / (1.0f + exp(-g)) * up[upOff + i];
    }
}

__kernel void add(__global const float* a, ulong aOff, __global const float* b, ulong bOff,
                  __global float* out, ulong outOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[outOff + i] = a[aOff + i] + b[bOff + i];
    }
}

/** {@code out = a · s}; out may alias a. */
__kernel void scale(__global const float* a, ulong aOff, float s, __global float* out, ulong outOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[outOff + i] = a[aOff + i] * s;
    }
}

__kernel void zero(__global float* x, ulong xOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        x[xOff + i] = 0.0f;
    }
}

__kernel void copy(__global const float* src, ulong srcOff, __global float* dst, ulong dstOff, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        dst[dstOff + i] = src[srcOff + i];
    }
}

/** Softmax of one row per work-group, in place: max, exp(x - max) and its sum, scale. */
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void softmax(__global float* x, ulong xOff, int cols) {
    __local float scratch[ROW_WG];
    x += xOff + (size_t)get_group_id(0) * cols;
    const int lid = get_local_id(0);
    float m = -INFINITY;
    for (int i = lid; i < cols; i += ROW_WG) {
        m = fmax(m, x[i]);
    }
    m = group_max(m, scratch);
    float sum = 0.0f;
    for (int i = lid; i < cols; i += ROW_WG) {
        float e = exp(x[i] - m);
        x[i] = e;
        sum += e;
    }
    const float inv = 1.0f / group_sum(sum, scratch);
    for (int i = lid; i < cols; i += ROW_WG) {
        x[i] *= inv;
    }
}

/** Index of the largest element of each row (the first on ties); one work-group per row. */
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void argmax(__global const float* x, ulong xOff, int cols, __global int* out, ulong outOff) {
    __local float bestValue[ROW_WG];
    __local int bestIndex[ROW_WG];
    const int lid = get_local_id(0);
    x += xOff + (size_t)get_group_id(0) * cols;
    // Each work-item scans its columns in increasing order and keeps the first maximum.
    float bv = -INFINITY;
    int bi = INT_MAX;
    if (lid < cols) {
        bv = x[lid];
        bi = lid;
    }
    for (int i = lid + ROW_WG; i < cols; i += ROW_WG) {
        float v = x[i];
        if (v > bv || (isnan(bv) && !isnan(v))) {   // a number replaces a NaN
            bv = v;
            bi = i;
        }
    }
    bestValue[lid] = bv;
    bestIndex[lid] = bi;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = ROW_WG / 2; s > 0; s >>= 1) {
        if (lid < s) {
            float ov = bestValue[lid + s];
            int oi = bestIndex[lid + s];
            float bv2 = bestValue[lid];
            int bi2 = bestIndex[lid];
            // The first maximum wins; NaN loses to every number, and among NaNs the first wins.
            if (ov > bv2 || (ov == bv2 && oi < bi2) || (isnan(bv2) && (!isnan(ov) || oi < bi2))) {
                bestValue[lid] = ov;
                bestIndex[lid] = oi;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        out[outOff + get_group_id(0)] = bestIndex[0];
    }
}
