// Matrix products against weights W[out, in] (HF layout) and the embedding lookup. Built once per
// weight storage type (see prelude.cl). x, y are F32.
//
// Two paths for y[rows, out] = x[rows, in] . W^T:
//  - gemv (rows <= GEMV_MAX_ROWS, decode): memory-bound on W, so each work-group streams a few
//    weight rows ONCE, 8 elements per work-item per step (16/32-byte loads, consecutive work-items
//    on consecutive chunks: coalesced), applies them to every row of x, and reduces the partial
//    dot products in local memory.
//  - gemm (prefill): 64x64 output tiles from 16-deep slices of x and W staged in local memory;
//    each work-item of a 16x16 group keeps a 4x4 register block.
// matmul is gemm's tiling for training's general product, op(A) . op(B) in any layout.
// Both can fuse an RMSNorm of x (gammaType >= 0): each work-group computes the inverse RMS of
// its own x rows (they are short) and applies x * invRms * gamma while loading x.

#define MODE_STORE 0
#define MODE_ACCUMULATE 1
#define MODE_GATE_UP 2

// ---- gemv ----

#define GEMV_WG 128
#define GEMV_W 4
#define GEMV_MAX_ROWS 8

/** Tree-reduces red[j][0..GEMV_WG) into red[j][0] for j < count (every work-item calls it). */
inline void gemv_reduce(__local float (*red)[GEMV_WG], int count) {
    const int lid = get_local_id(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = GEMV_WG / 2; s > 0; s >>= 1) {
        if (lid < s) {
            for (int j = 0; j < count; j++) {
                red[j][lid] += red[j][lid + s];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/**
 * One work-group per GEMV_W weight rows. Plain (MODE_STORE, MODE_ACCUMULATE): outputs
 * col0 .. col0+GEMV_W. MODE_GATE_UP: W is [2*out, in] (gate rows, then up rows); the group
 * computes GEMV_W/2 outputs j, each from gate row j and up row out+j, and writes silu(g)*u.
 * aligned: x, W offsets and in are multiples of 8, so the 8-wide loads may be single vector loads.
 */
__kernel __attribute__((reqd_work_group_size(GEMV_WG, 1, 1)))
void gemv(__global const float* x, ulong xOff,
          __global const uchar* gamma, ulong gammaOff, int gammaType, float eps,
          __global const wtype* w, ulong wOff,
          __global float* y, ulong yOff,
          int rows, int out, int in, int mode, int aligned) {
    __local float red[GEMV_W * GEMV_MAX_ROWS][GEMV_WG];
    __local float inv[GEMV_MAX_ROWS];
    const int lid = get_local_id(0);
    x += xOff;
    w += wOff;
    y += yOff;
    const bool norm = gammaType >= 0;

    if (norm) {
        float ss[GEMV_MAX_ROWS];
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            ss[r] = 0.0f;
        }
        for (int i = lid; i < in; i += GEMV_WG) {
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    float v = x[(size_t)r * in + i];
                    ss[r] += v * v;
                }
            }
        }
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) {
                red[r][lid] = ss[r];
            }
        }
        gemv_reduce(red, rows);
        if (lid < rows) {
            inv[lid] = 1.0f / sqrt(red[lid][0] / in + eps);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    const int cols = mode == MODE_GATE_UP ? GEMV_W / 2 : GEMV_W;
    const int col0 = get_group_id(0) * cols;
    __global const wtype* wr[GEMV_W];
#pragma unroll
    for (int k = 0; k < GEMV_W; k++) {
        // Past the last output the group re-reads row out-1 instead of branching; it is never stored.
        int c = min(col0 + k % cols, out - 1);
        int row = (mode == MODE_GATE_UP && k >= cols) ? out + c : c;
        wr[k] = w + (size_t)row * in;
    }

    // Register accumulators: every loop over them is unrolled with constant bounds and
    // guarded by rows, so they stay in registers.
    float acc[GEMV_W][GEMV_MAX_ROWS];
#pragma unroll
    for (int k = 0; k < GEMV_W; k++) {
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            acc[k][r] = 0.0f;
        }
    }

    const int full = in & ~7;
    for (int i = lid * 8; i < full; i += GEMV_WG * 8) {
        float8 wv[GEMV_W];
#pragma unroll
        for (int k = 0; k < GEMV_W; k++) {
            wv[k] = loadw8(wr[k] + i, aligned);
        }
        float8 g = norm ? load_any8(gamma, gammaType, gammaOff + i) : (float8)(1.0f);
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) {
                float8 xv = loadx8(x + (size_t)r * in + i, aligned);
                if (norm) {
                    xv = (xv * inv[r]) * g;
                }
#pragma unroll
                for (int k = 0; k < GEMV_W; k++) {
                    acc[k][r] += dot8(xv, wv[k]);
                }
            }
        }
    }
    // The last in % 8 columns, one per work-item.
    for (int i = full + lid; i < in; i += GEMV_WG) {
        float g = norm ? load_any(gamma, gammaType, gammaOff + i) : 1.0f;
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < rows) {
                float xv = x[(size_t)r * in + i];
                if (norm) {
                    xv = (xv * inv[r]) * g;
                }
#pragma unroll
                for (int k = 0; k < GEMV_W; k++) {
                    acc[k][r] += xv * LOADW(wr[k], i);
                }
            }
        }
    }

    // red[r * GEMV_W + k]: the first rows * GEMV_W entries are the ones in use.
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
#pragma unroll
            for (int k = 0; k < GEMV_W; k++) {
                red[r * GEMV_W + k][lid] = acc[k][r];
            }
        }
    }
    gemv_reduce(red, rows * GEMV_W);

    if (lid < rows * cols) {
        int k = lid % cols;
        int r = lid / cols;
        int c = col0 + k;
        if (c < out) {
            float v = red[r * GEMV_W + k][0];
            __global float* dst = y + (size_t)r * out + c;
            if (mode == MODE_GATE_UP) {
                float up = red[r * GEMV_W + cols + k][0];
                *dst = v / (1.0f + exp(-v)) * up;
            } else if (mode == MODE_ACCUMULATE) {
                *dst += v;
            } else {
                *dst = v;
            }
        }
    }
}

// ---- gemm ----

#define TILE 64
#define TK 16
#define GEMM_T 16
#define GEMM_R (TILE / GEMM_T)

/** Inverse RMS of x rows m0 .. m0+TILE into inv; 16 work-items per row, scratch >= TILE*16 floats. */
inline void tile_inv_rms(__global const float* x, int m0, int rows, int in, float eps,
                         __local float* inv, __local float* scratch) {
    const int lid = get_local_id(1) * GEMM_T + get_local_id(0);
    const int lane = lid % 16;
    const int sub = lid / 16;
    for (int p = 0; p < TILE / 16; p++) {
        int m = p * 16 + sub;
        float ss = 0.0f;
        if (m0 + m < rows) {
            __global const float* row = x + (size_t)(m0 + m) * in;
            for (int i = lane; i < in; i += 16) {
                float v = row[i];
                ss += v * v;
            }
        }
        scratch[m * 16 + lane] = ss;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < TILE) {
        float ss = 0.0f;
        for (int l = 0; l < 16; l++) {
            ss += scratch[lid * 16 + l];
        }
        inv[lid] = 1.0f / sqrt(ss / in + eps);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/** xs[k][m] = (normed) x[m0+m, k0+k], zero outside the matrix. Consecutive work-items read along k. */
inline void load_x_tile(__local float (*xs)[TILE + 1], __global const float* x, int m0, int rows, int in, int k0,
                        bool norm, __local const float* inv,
                        __global const uchar* gamma, ulong gammaOff, int gammaType) {
    const int lid = get_local_id(1) * GEMM_T + get_local_id(0);
    const int k = lid % TK;
    const int gk = k0 + k;
    float g = (norm && gk < in) ? load_any(gamma, gammaType, gammaOff + gk) : 1.0f;
    for (int l = 0; l < TILE * TK / (GEMM_T * GEMM_T); l++) {
        int m = lid / TK + l * (GEMM_T * GEMM_T / TK);
        int gm = m0 + m;
        float v = 0.0f;
        if (gm < rows && gk < in) {
            v = x[(size_t)gm * in + gk];
            if (norm) {
                v = (v * inv[m]) * g;
            }
        }
        xs[k][m] = v;
    }
}

/** ws[k][n] = W[rowBase + n0 + n, k0 + k] widened, zero outside the n0 .. out range. */
inline void load_w_tile(__local float (*ws)[TILE + 1], __global const wtype* w, int rowBase, int n0, int out,
                        int in, int k0) {
    const int lid = get_local_id(1) * GEMM_T + get_local_id(0);
    const int k = lid % TK;
    const int gk = k0 + k;
    for (int l = 0; l < TILE * TK / (GEMM_T * GEMM_T); l++) {
        int n = lid / TK + l * (GEMM_T * GEMM_T / TK);
        int gn = n0 + n;
        ws[k][n] = (gn < out && gk < in) ? LOADW(w, (size_t)(rowBase + gn) * in + gk) : 0.0f;
    }
}

/** acc[i][j] += sum_k xs[k][ty + 16i] * ws[k][tx + 16j]: rows and columns strided by 16 so reads are conflict-free. */
#define TILE_MAC(acc, xs, ws)                                   \
    for (int k = 0; k < TK; k++) {                              \
        float a[GEMM_R], b[GEMM_R];                             \
        for (int i = 0; i < GEMM_R; i++) {                      \
            a[i] = xs[k][ty + GEMM_T * i];                      \
            b[i] = ws[k][tx + GEMM_T * i];                      \
        }                                                       \
        for (int i = 0; i < GEMM_R; i++) {                      \
            for (int j = 0; j < GEMM_R; j++) {                  \
                acc[i][j] = fma(a[i], b[j], acc[i][j]);         \
            }                                                   \
        }                                                       \
    }

__kernel __attribute__((reqd_work_group_size(GEMM_T, GEMM_T, 1)))
void gemm(__global const float* x, ulong xOff,
          __global const uchar* gamma, ulong gammaOff, int gammaType, float eps,
          __global const wtype* w, ulong wOff,
          __global float* y, ulong yOff,
          int rows, int out, int in, int mode) {
    __local float xs[TK][TILE + 1];
    __local float ws[TK][TILE + 1];
    __local float inv[TILE];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE;
    x += xOff;
    w += wOff;
    y += yOff;
    const bool norm = gammaType >= 0;
    if (norm) {
        tile_inv_rms(x, m0, rows, in, eps, inv, &xs[0][0]);
    }
    float acc[GEMM_R][GEMM_R];
    for (int i = 0; i < GEMM_R; i++) {
        for (int j = 0; j < GEMM_R; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < in; k0 += TK) {
        load_x_tile(xs, x, m0, rows, in, k0, norm, inv, gamma, gammaOff, gammaType);
        load_w_tile(ws, w, 0, n0, out, in, k0);
        barrier(CLK_LOCAL_MEM_FENCE);
        TILE_MAC(acc, xs, ws)
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_R; i++) {
        int m = m0 + ty + GEMM_T * i;
        for (int j = 0; j < GEMM_R; j++) {
            int n = n0 + tx + GEMM_T * j;
            if (m < rows && n < out) {
                __global float* dst = y + (size_t)m * out + n;
                *dst = mode == MODE_ACCUMULATE ? *dst + acc[i][j] : acc[i][j];
            }
        }
    }
}

/** As gemm with W = [gate; up] ([2*inter, in]): out[rows, inter] = silu(x.Wg^T) * (x.Wu^T), one tile of each. */
__kernel __attribute__((reqd_work_group_size(GEMM_T, GEMM_T, 1)))
void gemm_gate_up(__global const float* x, ulong xOff,
                  __global const uchar* gamma, ulong gammaOff, int gammaType, float eps,
                  __global const wtype* w, ulong wOff,
                  __global float* y, ulong yOff,
                  int rows, int inter, int in) {
    __local float xs[TK][TILE + 1];
    __local float gs[TK][TILE + 1];
    __local float us[TK][TILE + 1];
    __local float inv[TILE];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE;
    x += xOff;
    w += wOff;
    y += yOff;
    const bool norm = gammaType >= 0;
    if (norm) {
        tile_inv_rms(x, m0, rows, in, eps, inv, &xs[0][0]);
    }
    float accG[GEMM_R][GEMM_R], accU[GEMM_R][GEMM_R];
    for (int i = 0; i < GEMM_R; i++) {
        for (int j = 0; j < GEMM_R; j++) {
            accG[i][j] = 0.0f;
            accU[i][j] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < in; k0 += TK) {
        load_x_tile(xs, x, m0, rows, in, k0, norm, inv, gamma, gammaOff, gammaType);
        load_w_tile(gs, w, 0, n0, inter, in, k0);
        load_w_tile(us, w, inter, n0, inter, in, k0);
        barrier(CLK_LOCAL_MEM_FENCE);
        TILE_MAC(accG, xs, gs)
        TILE_MAC(accU, xs, us)
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_R; i++) {
        int m = m0 + ty + GEMM_T * i;
        for (int j = 0; j < GEMM_R; j++) {
            int n = n0 + tx + GEMM_T * j;
            if (m < rows && n < inter) {
                float g = accG[i][j];
                y[(size_t)m * inter + n] = g / (1.0f + exp(-g)) * accU[i][j];
            }
        }
    }
}

// ---- the general product (training) ----

/**
 * as[k][m] = op(A)[m0+m, k0+k], zero outside the matrix; A is [rows, depth], or [depth, rows] when
 * transA. Consecutive work-items walk A's stored rows (along k, or along m when transposed), so the
 * global reads coalesce in both layouts.
 */
inline void load_a_tile(__local float (*as)[TILE + 1], __global const float* a, int transA,
                        int m0, int rows, int depth, int k0) {
    const int lid = get_local_id(1) * GEMM_T + get_local_id(0);
    for (int l = 0; l < TILE * TK / (GEMM_T * GEMM_T); l++) {
        const int e = lid + l * GEMM_T * GEMM_T;
        const int m = transA ? e % TILE : e / TK;
        const int k = transA ? e / TILE : e % TK;
        const int gm = m0 + m, gk = k0 + k;
        float v = 0.0f;
        if (gm < rows && gk < depth) {
            v = transA ? a[(size_t)gk * rows + gm] : a[(size_t)gm * depth + gk];
        }
        as[k][m] = v;
    }
}

/** bs[k][n] = op(B)[k0+k, n0+n] widened, zero outside; B is [depth, cols], or [cols, depth] when transB. */
inline void load_b_tile(__local float (*bs)[TILE + 1], __global const wtype* b, int transB,
                        int n0, int cols, int depth, int k0) {
    const int lid = get_local_id(1) * GEMM_T + get_local_id(0);
    for (int l = 0; l < TILE * TK / (GEMM_T * GEMM_T); l++) {
        const int e = lid + l * GEMM_T * GEMM_T;
        const int n = transB ? e / TK : e % TILE;
        const int k = transB ? e % TK : e / TILE;
        const int gn = n0 + n, gk = k0 + k;
        float v = 0.0f;
        if (gn < cols && gk < depth) {
            v = transB ? LOADW(b, (size_t)gn * depth + gk) : LOADW(b, (size_t)gk * cols + gn);
        }
        bs[k][n] = v;
    }
}

/**
 * c[m, n] (=|+=) op(A)[m, k] . op(B)[k, n] in any of the four layouts: gemm's tiling (64x64 output
 * tiles, 4x4 register blocks), with the transposes resolved while staging the tiles, so the inner
 * loop is the same for every layout.
 */
__kernel __attribute__((reqd_work_group_size(GEMM_T, GEMM_T, 1)))
void matmul(__global const float* a, ulong aOff, int transA,
            __global const wtype* b, ulong bOff, int transB,
            __global float* c, ulong cOff, int m, int n, int k, int accumulate) {
    __local float as[TK][TILE + 1];
    __local float bs[TK][TILE + 1];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int n0 = get_group_id(0) * TILE, m0 = get_group_id(1) * TILE;
    a += aOff;
    b += bOff;
    c += cOff;
    float acc[GEMM_R][GEMM_R];
    for (int i = 0; i < GEMM_R; i++) {
        for (int j = 0; j < GEMM_R; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < k; k0 += TK) {
        load_a_tile(as, a, transA, m0, m, k, k0);
        load_b_tile(bs, b, transB, n0, n, k, k0);
        barrier(CLK_LOCAL_MEM_FENCE);
        TILE_MAC(acc, as, bs)
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_R; i++) {
        const int row = m0 + ty + GEMM_T * i;
        for (int j = 0; j < GEMM_R; j++) {
            const int col = n0 + tx + GEMM_T * j;
            if (row < m && col < n) {
                __global float* dst = c + (size_t)row * n + col;
                *dst = accumulate ? *dst + acc[i][j] : acc[i][j];
            }
        }
    }
}

// ---- embedding ----

/** out[r, i] = table[ids[r], i] widened; an id outside [0, vocab) gives NaN instead of reading out of bounds. */
__kernel void embedding(__global const wtype* table, ulong tableOff, int dim, long vocab,
                        __global const int* ids, ulong idsOff, __global float* out, ulong outOff) {
    const int i = get_global_id(0);
    const int r = get_global_id(1);
    if (i >= dim) {
        return;
    }
    const int id = ids[idsOff + r];
    out[outOff + (size_t)r * dim + i] = (id >= 0 && id < vocab) ? LOADW(table + tableOff, (size_t)id * dim + i) : NAN;
}
