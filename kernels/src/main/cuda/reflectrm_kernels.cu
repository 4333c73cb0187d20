// CUDA kernels of reflectrm-j's device SPI (org.reflectrm.kernels.device.Device), compiled to PTX by
// make-ptx.sh and launched through the driver API from org.reflectrm.kernels.cuda.
//
// Conventions (see Device's javadoc): activations F32; weights F32, BF16 or F16 (W[out, in],
// row-major), widened in the kernel; ids and positions int32; every buffer comes with an element
// offset (long long) that the kernel adds to its pointer. Every entry point is extern "C" so its
// PTX name is the plain name the Java side asks for; weight types are template instances with
// their own names, so inner loops never switch on the type. Sums are in F32; exponentials use
// expf (not __expf) and RoPE angles are evaluated in double, so results stay within the
// contract's tolerance of the CPU backend.
//
// Keep every signature in step with org.reflectrm.kernels.cuda.Kernel (CudaPtxTest checks it).

#include <cuda_fp16.h>

typedef long long i64;

#define FULL_MASK 0xffffffffu

// ---- Widening of stored element types ----

// Type codes used where a small operand (a norm's gamma) is read through a runtime switch:
// 0 = F32, 1 = BF16, 2 = F16 (CudaDevice.typeCode).
__device__ __forceinline__ float bf16_bits(unsigned int bits) {
    return __uint_as_float(bits << 16);
}

__device__ __forceinline__ float f16_bits(unsigned int bits) {
    return __half2float(__ushort_as_half((unsigned short) bits));
}

__device__ __forceinline__ float widen_any(const void* p, int type, i64 i) {
    if (type == 0) {
        return ((const float*) p)[i];
    }
    unsigned int bits = ((const unsigned short*) p)[i];
    return type == 1 ? bf16_bits(bits) : f16_bits(bits);
}

__device__ __forceinline__ bool aligned16(const void* p) {
    return (((unsigned long long) p) & 15ull) == 0;
}

struct WF32 {
    typedef float T;
    __device__ static __forceinline__ float at(const float* p, i64 i) { return p[i]; }
    // Eight elements from a 16-byte aligned address.
    __device__ static __forceinline__ void load8(const float* p, float v[8]) {
        float4 a = ((const float4*) p)[0];
        float4 b = ((const float4*) p)[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
        v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    }
};

struct WBF16 {
    typedef unsigned short T;
    __device__ static __forceinline__ float at(const unsigned short* p, i64 i) { return bf16_bits(p[i]); }
    // One 16-byte load; little-endian puts element 2t in the low half of word t.
    __device__ static __forceinline__ void load8(const unsigned short* p, float v[8]) {
        uint4 u = *((const uint4*) p);
        unsigned int w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int t = 0; t < 4; t++) {
            v[2 * t] = __uint_as_float(w[t] << 16);
            v[2 * t + 1] = __uint_as_float(w[t] & 0xffff0000u);
        }
    }
};

struct WF16 {
    typedef unsigned short T;
    __device__ static __forceinline__ float at(const unsigned short* p, i64 i) { return f16_bits(p[i]); }
    __device__ static __forceinline__ void load8(const unsigned short* p, float v[8]) {
        uint4 u = *((const uint4*) p);
        unsigned int w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int t = 0; t < 4; t++) {
            v[2 * t] = f16_bits(w[t] & 0xffffu);
            v[2 * t + 1] = f16_bits(w[t] >> 16);
        }
    }
};

// ---- Reductions ----

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(FULL_MASK, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32); every thread gets the total. The leading
// barrier lets a block call it twice with the same scratch.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    return warp_sum(lane < warps ? scratch[lane] : 0.f);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    return warp_max(lane < warps ? scratch[lane] : -INFINITY);
}

__device__ __forceinline__ float silu(float g) {
    return g / (1.0f + expf(-g));
}

// ---- Linear layers: y[rows, out] = x[rows, in] . W[out, in]^T, optionally fused ----

// MODE_LINEAR: plain (accumulate adds into y). MODE_RMS: x is RMS-normalised with gamma first.
// MODE_GATEUP: as MODE_RMS, for gate row j and up row out + j, writing silu(gate) * up.
#define MODE_LINEAR 0
#define MODE_RMS 1
#define MODE_GATEUP 2

// One output of a linear kernel: v the (gate) dot product, u the up one, inv the row's inverse RMS.
template <int MODE>
__device__ __forceinline__ void store_linear(float* y, i64 o, float v, float u, float inv, int accumulate) {
    if (MODE == MODE_LINEAR) {
        y[o] = accumulate ? y[o] + v : v;
    } else if (MODE == MODE_RMS) {
        y[o] = v * inv;
    } else {
        y[o] = silu(v * inv) * (u * inv);
    }
}

// GEMV (rows <= GEMV_MAX_ROWS, decode): one warp per output column j; the warp streams weight row
// j (and, for gate/up, row out + j) once and applies it to every x row, so weights cross the
// bus once per launch whatever the batch. With MODE_RMS the warp also sums x^2 as it streams x
// (it reads all of each x row anyway) and scales the dot product by the inverse RMS at the end:
// sum_k (x_k * inv * g_k) W_jk = inv * sum_k x_k g_k W_jk.
#define GEMV_WARPS 8
#define GEMV_MAX_ROWS 8

// Eight consecutive k (from k) of one weight row (wv; uv: the up row) applied to every x row.
template <int MODE>
__device__ __forceinline__ void gemv_step(const float* __restrict__ x, int in, int k, const float wv[8],
                                          const float uv[8], const void* __restrict__ gamma, i64 gOff, int gType,
                                          int rows, float acc[GEMV_MAX_ROWS], float accU[GEMV_MAX_ROWS],
                                          float ss[GEMV_MAX_ROWS]) {
    float g[8];
    if (MODE != MODE_LINEAR) {
#pragma unroll
        for (int e = 0; e < 8; e++) {
            g[e] = widen_any(gamma, gType, gOff + k + e);
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {
            const float4* xp = (const float4*) (x + (i64) r * in + k);
            float4 a = xp[0], b = xp[1];
            float xv[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
            for (int e = 0; e < 8; e++) {
                float xe = xv[e];
                if (MODE != MODE_LINEAR) {
                    ss[r] += xe * xe;
                    xe *= g[e];
                }
                acc[r] += xe * wv[e];
                if (MODE == MODE_GATEUP) {
                    accU[r] += xe * uv[e];
                }
            }
        }
    }
}

// U steps of 256 elements from k: every weight load is issued before the FMAs that use them.
template <class W, int MODE, int U>
__device__ __forceinline__ void gemv_steps(const float* __restrict__ x, const typename W::T* __restrict__ wg,
                                           const typename W::T* __restrict__ wu, int in, int k,
                                           const void* __restrict__ gamma, i64 gOff, int gType, int rows,
                                           float acc[GEMV_MAX_ROWS], float accU[GEMV_MAX_ROWS],
                                           float ss[GEMV_MAX_ROWS]) {
    float wv[U][8], uv[U][8];
#pragma unroll
    for (int u = 0; u < U; u++) {
        W::load8(wg + k + u * 256, wv[u]);
        if (MODE == MODE_GATEUP) {
            W::load8(wu + k + u * 256, uv[u]);
        }
    }
#pragma unroll
    for (int u = 0; u < U; u++) {
        gemv_step<MODE>(x, in, k + u * 256, wv[u], uv[u], gamma, gOff, gType, rows, acc, accU, ss);
    }
}

template <class W, int MODE>
__device__ __forceinline__ void gemv(const float* __restrict__ x, const typename W::T* __restrict__ w,
                                     const void* __restrict__ gamma, i64 gOff, int gType, float eps,
                                     float* y, int rows, int out, int in, int accumulate) {
    const int lane = threadIdx.x & 31;
    const int j = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (j >= out) {
        return;  // no block-wide barrier follows
    }
    const typename W::T* wg = w + (i64) j * in;
    const typename W::T* wu = w + ((i64) out + j) * in;
    float acc[GEMV_MAX_ROWS], accU[GEMV_MAX_ROWS], ss[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        acc[r] = 0.f;
        accU[r] = 0.f;
        ss[r] = 0.f;
    }
    // 16-byte loads need aligned rows: the same answer for the whole grid, so no divergence.
    // Several weight loads are issued before their FMAs (U steps of 256 elements at a time):
    // with one load in flight per warp, decode reached only half the memory bandwidth.
    const bool vec = aligned16(x) && aligned16(w) && (in & 7) == 0;
    if (vec) {
        constexpr int U = MODE == MODE_GATEUP ? 2 : 4;
        int k = lane * 8;
        for (; k + (U - 1) * 256 < in; k += U * 256) {
            gemv_steps<W, MODE, U>(x, wg, wu, in, k, gamma, gOff, gType, rows, acc, accU, ss);
        }
        for (; k < in; k += 256) {
            gemv_steps<W, MODE, 1>(x, wg, wu, in, k, gamma, gOff, gType, rows, acc, accU, ss);
        }
    } else {
        for (int k = lane; k < in; k += 32) {
            const float wv = W::at(wg, k);
            const float uv = MODE == MODE_GATEUP ? W::at(wu, k) : 0.f;
            const float g = MODE != MODE_LINEAR ? widen_any(gamma, gType, gOff + k) : 1.f;
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < rows) {
                    float xe = x[(i64) r * in + k];
                    if (MODE != MODE_LINEAR) {
                        ss[r] += xe * xe;
                        xe *= g;
                    }
                    acc[r] += xe * wv;
                    if (MODE == MODE_GATEUP) {
                        accU[r] += xe * uv;
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < rows) {  // rows is the same for every lane: the shuffles see the full warp
            const float a = warp_sum(acc[r]);
            const float u = MODE == MODE_GATEUP ? warp_sum(accU[r]) : 0.f;
            const float inv = MODE != MODE_LINEAR ? 1.0f / sqrtf(warp_sum(ss[r]) / in + eps) : 1.f;
            if (lane == 0) {
                store_linear<MODE>(y, (i64) r * out + j, a, u, inv, accumulate);
            }
        }
    }
}

// A GEMM tile's inverse RMS per row into invs, from the sums of squares this warp gathered for
// its N rows (rows warp + WARPS * i of the tile), then a barrier so every thread may read them.
template <int N, int WARPS>
__device__ __forceinline__ void tile_inverse_rms(const float ss[N], float* invs, int warp, int lane, int in, float eps) {
#pragma unroll
    for (int i = 0; i < N; i++) {
        const float s = warp_sum(ss[i]);
        if (lane == 0) {
            invs[warp + WARPS * i] = 1.0f / sqrtf(s / in + eps);
        }
    }
    __syncthreads();
}

// GEMM (rows > GEMV_MAX_ROWS, prefill): 64x64 output tiles, 256 threads, each thread a 4x4
// register block (rows ty + 16i, columns tx + 16j, so shared-memory reads are broadcasts or
// consecutive). k advances 32 at a time through shared tiles stored k-major and padded by one
// column, so the transposing stores hit 32 different banks. A warp loads whole 32-wide k slices
// of eight x rows, which also gives it each row's sum of squares for the fused RMSNorm.
#define GM_BM 64
#define GM_BN 64
#define GM_BK 32
#define GM_THREADS 256

template <class W, int MODE>
__device__ __forceinline__ void gemm(const float* __restrict__ x, const typename W::T* __restrict__ w,
                                     const void* __restrict__ gamma, i64 gOff, int gType, float eps,
                                     float* y, int rows, int out, int in, int accumulate) {
    __shared__ float xs[GM_BK][GM_BM + 1];
    __shared__ float ws[GM_BK][GM_BN + 1];
    __shared__ float us[MODE == MODE_GATEUP ? GM_BK : 1][GM_BN + 1];
    __shared__ float invs[GM_BM];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * GM_BM, n0 = blockIdx.x * GM_BN;
    float acc[4][4], accU[4][4], ss[8];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            acc[i][j] = 0.f;
            accU[i][j] = 0.f;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        ss[i] = 0.f;
    }
    for (int k0 = 0; k0 < in; k0 += GM_BK) {
        const int k = k0 + lane;
        const bool kin = k < in;
        const float g = (MODE != MODE_LINEAR && kin) ? widen_any(gamma, gType, gOff + k) : 1.f;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const int mm = warp + 8 * i;  // this warp's rows (and weight rows) of the tile
            const int m = m0 + mm, n = n0 + mm;
            float xv = (kin && m < rows) ? x[(i64) m * in + k] : 0.f;
            if (MODE != MODE_LINEAR) {
                ss[i] += xv * xv;
                xv *= g;
            }
            xs[lane][mm] = xv;
            ws[lane][mm] = (kin && n < out) ? W::at(w, (i64) n * in + k) : 0.f;
            if (MODE == MODE_GATEUP) {
                us[lane][mm] = (kin && n < out) ? W::at(w, ((i64) out + n) * in + k) : 0.f;
            }
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < GM_BK; kk++) {
            float a[4], b[4], c[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = xs[kk][ty + 16 * i];
                b[i] = ws[kk][tx + 16 * i];
                if (MODE == MODE_GATEUP) {
                    c[i] = us[kk][tx + 16 * i];
                }
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    acc[i][j] += a[i] * b[j];
                    if (MODE == MODE_GATEUP) {
                        accU[i][j] += a[i] * c[j];
                    }
                }
            }
        }
        __syncthreads();
    }
    if (MODE != MODE_LINEAR) {
        tile_inverse_rms<8, 8>(ss, invs, warp, lane, in, eps);
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int m = m0 + ty + 16 * i;
        if (m >= rows) {
            continue;
        }
        const float inv = MODE != MODE_LINEAR ? invs[ty + 16 * i] : 1.f;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int n = n0 + tx + 16 * j;
            if (n >= out) {
                continue;
            }
            store_linear<MODE>(y, (i64) m * out + n, acc[i][j], accU[i][j], inv, accumulate);
        }
    }
}

// Every linear entry point has the same parameters, so the Java side packs them one way; for
// gate/up, out is the intermediate size and W holds 2 * out rows.
#define LINEAR_ENTRY(NAME, BODY, W, MODE, THREADS)                                                   \
    extern "C" __global__ void __launch_bounds__(THREADS)                                            \
    NAME(const float* x, i64 xOff, const W::T* w, i64 wOff, const void* gamma, i64 gOff, int gType,  \
         float eps, float* y, i64 yOff, int rows, int out, int in, int accumulate) {                 \
        BODY<W, MODE>(x + xOff, w + wOff, gamma, gOff, gType, eps, y + yOff, rows, out, in, accumulate); \
    }

LINEAR_ENTRY(linear_gemv_f32, gemv, WF32, MODE_LINEAR, GEMV_WARPS * 32)
LINEAR_ENTRY(linear_gemv_bf16, gemv, WBF16, MODE_LINEAR, GEMV_WARPS * 32)
LINEAR_ENTRY(linear_gemv_f16, gemv, WF16, MODE_LINEAR, GEMV_WARPS * 32)
LINEAR_ENTRY(rms_linear_gemv_f32, gemv, WF32, MODE_RMS, GEMV_WARPS * 32)
LINEAR_ENTRY(rms_linear_gemv_bf16, gemv, WBF16, MODE_RMS, GEMV_WARPS * 32)
LINEAR_ENTRY(rms_linear_gemv_f16, gemv, WF16, MODE_RMS, GEMV_WARPS * 32)
LINEAR_ENTRY(gate_up_gemv_f32, gemv, WF32, MODE_GATEUP, GEMV_WARPS * 32)
LINEAR_ENTRY(gate_up_gemv_bf16, gemv, WBF16, MODE_GATEUP, GEMV_WARPS * 32)
LINEAR_ENTRY(gate_up_gemv_f16, gemv, WF16, MODE_GATEUP, GEMV_WARPS * 32)
LINEAR_ENTRY(linear_gemm_f32, gemm, WF32, MODE_LINEAR, GM_THREADS)
LINEAR_ENTRY(linear_gemm_bf16, gemm, WBF16, MODE_LINEAR, GM_THREADS)
LINEAR_ENTRY(linear_gemm_f16, gemm, WF16, MODE_LINEAR, GM_THREADS)
LINEAR_ENTRY(rms_linear_gemm_f32, gemm, WF32, MODE_RMS, GM_THREADS)
LINEAR_ENTRY(rms_linear_gemm_bf16, gemm, WBF16, MODE_RMS, GM_THREADS)
LINEAR_ENTRY(rms_linear_gemm_f16, gemm, WF16, MODE_RMS, GM_THREADS)
LINEAR_ENTRY(gate_up_gemm_f32, gemm, WF32, MODE_GATEUP, GM_THREADS)
LINEAR_ENTRY(gate_up_gemm_bf16, gemm, WBF16, MODE_GATEUP, GM_THREADS)
LINEAR_ENTRY(gate_up_gemm_f16, gemm, WF16, MODE_GATEUP, GM_THREADS)

// ---- Tensor-core GEMM: prefill with BF16 weights (Hopper PTX) ----

// mma.sync.m16n8k16 with BF16 operands and F32 accumulation. The weights are BF16 already. Each
// activation x is split into two BF16 numbers, hi = bf16(x) and lo = bf16(x - hi), and both go
// through the tensor cores: the products then keep about 16 bits of x's mantissa (a relative
// error near 2^-17 per term, against 2^-9 for x rounded to BF16 alone), so logits stay within the
// parity tolerance of the F32 CPU backend, at twice the tensor-core work of a plain BF16 GEMM.
// Tiles: 64x64 outputs per block of 4 warps (2x2; each warp 32x32 = 2 m16 x 4 n8 MMA tiles);
// k advances 32 at a time through shared memory whose rows are padded to 40 BF16 (80 bytes), so
// the 32 lanes of a fragment load (rows g, words t) fall in 32 different banks. The loads mirror
// the SIMT GEMM's: a warp loads 32-wide k slices of 16 x rows, which also gives it their sums of
// squares for the fused RMSNorm. Only the Hopper PTX has tensor cores here; the portable
// (compute_75) build keeps the entry points as traps, and CudaDevice launches them only on
// compute capability 9.0 or newer.
#define TC_BM 64
#define TC_BN 64
#define TC_BK 32
#define TC_PAD 40
#define TC_THREADS 128

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define HAVE_MMA 1
// d += a . b for one m16n8k16 tile; fragments as the PTX ISA lays them out (see cuda_emu.h).
__device__ __forceinline__ void mma_bf16_16816(float d[4], const unsigned a[4], const unsigned b[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#elif defined(REFLECTRM_CUDA_EMU)
#define HAVE_MMA 1  // cuda_emu.h computes mma_bf16_16816 from the same fragment layout
#else
#define HAVE_MMA 0
#endif

// The BF16 bits nearest to x, ties to even (x is finite: an activation).
__device__ __forceinline__ unsigned bf16_rne(float x) {
    const unsigned u = __float_as_uint(x);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// Two consecutive BF16 values of a shared row as one register, the lower index in the low half.
__device__ __forceinline__ unsigned bf16_pair(const unsigned short* p) {
    return *(const unsigned*) p;
}

template <class W, int MODE>
__device__ __forceinline__ void gemm_tc(const float* __restrict__ x, const typename W::T* __restrict__ w,
                                        const void* __restrict__ gamma, i64 gOff, int gType, float eps,
                                        float* y, int rows, int out, int in, int accumulate) {
#if HAVE_MMA
    __shared__ unsigned short xh[TC_BM][TC_PAD] __attribute__((aligned(16)));
    __shared__ unsigned short xl[TC_BM][TC_PAD] __attribute__((aligned(16)));
    __shared__ unsigned short ws[TC_BN][TC_PAD] __attribute__((aligned(16)));
    __shared__ unsigned short us[MODE == MODE_GATEUP ? TC_BN : 1][TC_PAD] __attribute__((aligned(16)));
    __shared__ float invs[TC_BM];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;                    // the fragment coordinates of this lane
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;    // this warp's 32x32 corner of the tile
    const int m0 = blockIdx.y * TC_BM, n0 = blockIdx.x * TC_BN;
    float acc[2][4][4], accU[2][4][4], ss[TC_BM / 4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
#pragma unroll
            for (int c = 0; c < 4; c++) {
                acc[mi][ni][c] = 0.f;
                accU[mi][ni][c] = 0.f;
            }
        }
    }
#pragma unroll
    for (int i = 0; i < TC_BM / 4; i++) {
        ss[i] = 0.f;
    }
    for (int k0 = 0; k0 < in; k0 += TC_BK) {
        const int k = k0 + lane;
        const bool kin = k < in;
        const float gk = (MODE != MODE_LINEAR && kin) ? widen_any(gamma, gType, gOff + k) : 1.f;
#pragma unroll
        for (int i = 0; i < TC_BM / 4; i++) {
            const int r = warp + 4 * i;  // this warp's rows (and weight rows) of the tile
            const int m = m0 + r, n = n0 + r;
            float xv = (kin && m < rows) ? x[(i64) m * in + k] : 0.f;
            if (MODE != MODE_LINEAR) {
                ss[i] += xv * xv;
                xv *= gk;
            }
            const unsigned hi = bf16_rne(xv);
            xh[r][lane] = (unsigned short) hi;
            xl[r][lane] = (unsigned short) bf16_rne(xv - __uint_as_float(hi << 16));
            ws[r][lane] = (kin && n < out) ? w[(i64) n * in + k] : (unsigned short) 0;
            if (MODE == MODE_GATEUP) {
                us[r][lane] = (kin && n < out) ? w[((i64) out + n) * in + k] : (unsigned short) 0;
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TC_BK; kk += 16) {
            unsigned ah[2][4], al[2][4];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                const int r = wm + mi * 16 + g, c = kk + 2 * t;
                ah[mi][0] = bf16_pair(&xh[r][c]);
                ah[mi][1] = bf16_pair(&xh[r + 8][c]);
                ah[mi][2] = bf16_pair(&xh[r][c + 8]);
                ah[mi][3] = bf16_pair(&xh[r + 8][c + 8]);
                al[mi][0] = bf16_pair(&xl[r][c]);
                al[mi][1] = bf16_pair(&xl[r + 8][c]);
                al[mi][2] = bf16_pair(&xl[r][c + 8]);
                al[mi][3] = bf16_pair(&xl[r + 8][c + 8]);
            }
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                const int n = wn + ni * 8 + g, c = kk + 2 * t;
                const unsigned b[2] = {bf16_pair(&ws[n][c]), bf16_pair(&ws[n][c + 8])};
#pragma unroll
                for (int mi = 0; mi < 2; mi++) {
                    mma_bf16_16816(acc[mi][ni], ah[mi], b);
                    mma_bf16_16816(acc[mi][ni], al[mi], b);
                }
                if (MODE == MODE_GATEUP) {
                    const unsigned bu[2] = {bf16_pair(&us[n][c]), bf16_pair(&us[n][c + 8])};
#pragma unroll
                    for (int mi = 0; mi < 2; mi++) {
                        mma_bf16_16816(accU[mi][ni], ah[mi], bu);
                        mma_bf16_16816(accU[mi][ni], al[mi], bu);
                    }
                }
            }
        }
        __syncthreads();
    }
    if (MODE != MODE_LINEAR) {
        tile_inverse_rms<TC_BM / 4, 4>(ss, invs, warp, lane, in, eps);
    }
    // Accumulator c of tile (mi, ni) is row g (+8 for c >= 2), column 2t + (c & 1) of the tile.
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int c = 0; c < 4; c++) {
            const int rl = wm + mi * 16 + g + (c >= 2 ? 8 : 0);
            const int m = m0 + rl;
            if (m >= rows) {
                continue;
            }
            const float inv = MODE != MODE_LINEAR ? invs[rl] : 1.f;
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
                const int n = n0 + wn + ni * 8 + 2 * t + (c & 1);
                if (n >= out) {
                    continue;
                }
                store_linear<MODE>(y, (i64) m * out + n, acc[mi][ni][c], accU[mi][ni][c], inv, accumulate);
            }
        }
    }
#else
    asm volatile("trap;");
#endif
}

LINEAR_ENTRY(linear_tc_bf16, gemm_tc, WBF16, MODE_LINEAR, TC_THREADS)
LINEAR_ENTRY(rms_linear_tc_bf16, gemm_tc, WBF16, MODE_RMS, TC_THREADS)
LINEAR_ENTRY(gate_up_tc_bf16, gemm_tc, WBF16, MODE_GATEUP, TC_THREADS)

// ---- Normalisation and RoPE ----

// One block per row (blockDim a multiple of 32); may run in place (each thread rewrites only
// what it read, after the reduction's barrier).
extern "C" __global__ void rms_norm(const float* x, i64 xOff, const void* w, i64 wOff, int wType,
                                    float* y, i64 yOff, int dim, float eps) {
    __shared__ float scratch[32];
    const float* xr = x + xOff + (i64) blockIdx.x * dim;
    float* yr = y + yOff + (i64) blockIdx.x * dim;
    float ss = 0.f;
    for (int k = threadIdx.x; k < dim; k += blockDim.x) {
        const float v = xr[k];
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    // As transformers (and the CPU backend): x * (1 / sqrt(mean(x^2) + eps)), then times w.
    const float inv = 1.0f / sqrtf(ss / dim + eps);
    for (int k = threadIdx.x; k < dim; k += blockDim.x) {
        yr[k] = (xr[k] * inv) * widen_any(w, wType, wOff + k);
    }
}

// Rotates the pair (a, b) = (x[i], x[i + half]) by pos * invFreq(i). The angle is computed in F32
// exactly as transformers does (exponent 2i/headDim in F32, theta^exponent rounded to F32, its
// reciprocal in F32, times the position in F32); cos and sin are evaluated in double and rounded,
// as the CPU backend does, since at positions in the tens of thousands an ulp of the angle is
// already visible in the output. With inverse, the rotation is by the negative angle (sin negated,
// exactly, as the CPU's ropeInverse does): RoPE's backward.
__device__ __forceinline__ void rope_pair(float& a, float& b, int pos, int i, int half, float theta,
                                          bool inverse = false) {
    const float exponent = (float) (2 * i) / (float) (2 * half);
    const float invFreq = 1.0f / (float) pow((double) theta, (double) exponent);
    const float angle = (float) pos * invFreq;
    const float c = (float) cos((double) angle);
    const float sn = (float) sin((double) angle);
    const float s = inverse ? -sn : sn;
    const float x1 = a, x2 = b;
    // Products rounded separately (no FMA contraction), as the CPU computes them.
    a = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s));
    b = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s));
}

// In place on x[rows, heads, headDim]: one block per (row, head), a thread per pair.
__device__ __forceinline__ void rope_head(float* x, int heads, int headDim, const int* positions, float theta,
                                          bool inverse) {
    const int r = blockIdx.x, h = blockIdx.y, half = headDim / 2;
    float* xh = x + ((i64) r * heads + h) * headDim;
    const int pos = positions[r];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float a = xh[i], b = xh[i + half];
        rope_pair(a, b, pos, i, half, theta, inverse);
        xh[i] = a;
        xh[i + half] = b;
    }
}

extern "C" __global__ void rope(float* x, i64 xOff, int heads, int headDim, const int* positions, i64 posOff,
                                float theta) {
    rope_head(x + xOff, heads, headDim, positions + posOff, theta, false);
}

// RoPE's backward: the transpose of a rotation is the rotation by the negative angle.
extern "C" __global__ void rope_inverse(float* x, i64 xOff, int heads, int headDim, const int* positions,
                                        i64 posOff, float theta) {
    rope_head(x + xOff, heads, headDim, positions + posOff, theta, true);
}

// One block per (row, head of q, k or v): q and k heads get RMSNorm with their gamma and RoPE,
// v heads are copied; k and v land in the cache slot of the row. In the fused row, q heads,
// k heads and v heads are consecutive, so head h of the row starts at h * headDim either way.
// This is one block's head: src is head h of the fused row, q head h goes to qRow, k and v heads
// to the cache rows kRow and vRow (null: the row is outside the cache, so only q is written).
__device__ __forceinline__ void split_qkv_head(const float* src, int h, int heads, int kvHeads, int headDim,
                                               const void* qNorm, i64 qNormOff, const void* kNorm, i64 kNormOff,
                                               int normType, float eps, int pos, float theta, float* qRow,
                                               float* kRow, float* vRow) {
    __shared__ float scratch[32];
    if (h >= heads && kRow == 0) {
        return;  // the same for the whole block, before any barrier
    }
    if (h >= heads + kvHeads) {  // v: a copy (the whole block leaves here)
        float* dst = vRow + (i64) (h - heads - kvHeads) * headDim;
        for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
            dst[d] = src[d];
        }
        return;
    }
    const bool isQ = h < heads;
    float* dst = isQ ? qRow + (i64) h * headDim : kRow + (i64) (h - heads) * headDim;
    const void* gamma = isQ ? qNorm : kNorm;
    const i64 gOff = isQ ? qNormOff : kNormOff;
    float ss = 0.f;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        const float v = src[d];
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    const float inv = 1.0f / sqrtf(ss / headDim + eps);
    const int half = headDim / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float a = (src[i] * inv) * widen_any(gamma, normType, gOff + i);
        float b = (src[i + half] * inv) * widen_any(gamma, normType, gOff + i + half);
        rope_pair(a, b, pos, i, half, theta);
        dst[i] = a;
        dst[i + half] = b;
    }
}

extern "C" __global__ void split_qkv(const float* qkv, i64 qkvOff, int heads, int kvHeads, int headDim,
                                     const void* qNorm, i64 qNormOff, const void* kNorm, i64 kNormOff,
                                     int normType, float eps, const int* positions, i64 posOff, float theta,
                                     float* q, i64 qOff, float* kCache, i64 kOff, float* vCache, i64 vOff,
                                     int slotByPosition, int slots) {
    const int r = blockIdx.x, h = blockIdx.y;
    const i64 qDim = (i64) heads * headDim, kvDim = (i64) kvHeads * headDim;
    const float* src = qkv + qkvOff + (long long) r * (qDim + 2 * kvDim) + (i64) h * headDim;
    const int pos = positions[posOff + r];
    // The row's cache slot: r after the slot kOff points at, or (slotByPosition) its position
    // after slot 0, so that a recorded launch stays right as the cache grows. A position outside
    // the cache's slots writes nothing (the host checked the rest against the cache's size).
    const i64 slot = slotByPosition ? pos : r;
    const bool inCache = !slotByPosition || (pos >= 0 && pos < slots);
    split_qkv_head(src, h, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps, pos, theta,
                   q + qOff + r * qDim, inCache ? kCache + kOff + slot * kvDim : 0,
                   inCache ? vCache + vOff + slot * kvDim : 0);
}

// split_qkv by position for a batch of one-token sequences in one launch (a decode step): row s
// is sequence s, whose caches are at the device addresses seqs[4s] (keys) and seqs[4s + 1]
// (values), slot 0, and hold seqs[4s + 2] slots (attention_batch's table); its k and v go to
// slot positions[posOff + s].
extern "C" __global__ void split_qkv_batch(const float* qkv, i64 qkvOff, int heads, int kvHeads, int headDim,
                                           const void* qNorm, i64 qNormOff, const void* kNorm, i64 kNormOff,
                                           int normType, float eps, const int* positions, i64 posOff, float theta,
                                           float* q, i64 qOff, const i64* __restrict__ seqs) {
    const int s = blockIdx.x, h = blockIdx.y;
    const i64 qDim = (i64) heads * headDim, kvDim = (i64) kvHeads * headDim;
    const float* src = qkv + qkvOff + (i64) s * (qDim + 2 * kvDim) + (i64) h * headDim;
    const int pos = positions[posOff + s];
    const bool inCache = pos >= 0 && pos < seqs[4 * s + 2];
    split_qkv_head(src, h, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps, pos, theta,
                   q + qOff + s * qDim, inCache ? (float*) seqs[4 * s] + pos * kvDim : 0,
                   inCache ? (float*) seqs[4 * s + 1] + pos * kvDim : 0);
}

// ---- Lookups and element-wise kernels ----

// grid (rows, ceil(dim / blockDim)): one element per thread, an exact widening.
template <class W>
__device__ __forceinline__ void embedding(const typename W::T* table, int dim, const int* ids, float* out) {
    const int r = blockIdx.x;
    const int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c < dim) {
        out[(i64) r * dim + c] = W::at(table, (i64) ids[r] * dim + c);
    }
}

#define EMBEDDING_ENTRY(NAME, W)                                                                    \
    extern "C" __global__ void NAME(const W::T* table, i64 tableOff, int dim, const int* ids, i64 idsOff, \
                                    float* out, i64 outOff) {                                       \
        embedding<W>(table + tableOff, dim, ids + idsOff, out + outOff);                           \
    }

EMBEDDING_ENTRY(embedding_f32, WF32)
EMBEDDING_ENTRY(embedding_bf16, WBF16)
EMBEDDING_ENTRY(embedding_f16, WF16)

// Grid-stride loops over n elements; out may alias an input (same index read, then written).
extern "C" __global__ void swiglu(const float* gate, i64 gateOff, const float* up, i64 upOff,
                                  float* out, i64 outOff, i64 n) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        out[outOff + i] = silu(gate[gateOff + i]) * up[upOff + i];
    }
}

extern "C" __global__ void add(const float* a, i64 aOff, const float* b, i64 bOff, float* out, i64 outOff, i64 n) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        out[outOff + i] = a[aOff + i] + b[bOff + i];
    }
}

// out = a * s; out may alias a.
extern "C" __global__ void scale(const float* a, i64 aOff, float s, float* out, i64 outOff, i64 n) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        out[outOff + i] = a[aOff + i] * s;
    }
}

extern "C" __global__ void zero_f32(float* x, i64 xOff, i64 n) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        x[xOff + i] = 0.0f;
    }
}

// 16-byte moves where both ends are aligned: one float per thread reaches about two thirds of
// the memory bandwidth, and this kernel also measures that bandwidth for bench.
extern "C" __global__ void copy_f32(const float* src, i64 srcOff, float* dst, i64 dstOff, i64 n) {
    const float* s = src + srcOff;
    float* d = dst + dstOff;
    const i64 first = (i64) blockIdx.x * blockDim.x + threadIdx.x, stride = (i64) gridDim.x * blockDim.x;
    i64 done = 0;
    if (aligned16(s) && aligned16(d)) {
        const i64 quads = n >> 2;
        for (i64 i = first; i < quads; i += stride) {
            ((float4*) d)[i] = ((const float4*) s)[i];
        }
        done = quads << 2;
    }
    for (i64 i = done + first; i < n; i += stride) {
        d[i] = s[i];
    }
}

// ---- Row reductions: one block per row ----

// In place: max, exp(x - max) stored with its sum, then scaled by 1 / sum (the CPU's order).
// The row's max m (to the block), each element replaced by exp(x - m), and the sum of those: the
// unnormalised softmax that softmax_rows and cross_entropy share.
__device__ __forceinline__ float exp_row(float* xr, int cols, float* scratch, float& m) {
    m = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        m = fmaxf(m, xr[c]);
    }
    m = block_max(m, scratch);
    float s = 0.f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float e = expf(xr[c] - m);
        xr[c] = e;
        s += e;
    }
    return block_sum(s, scratch);
}

extern "C" __global__ void softmax_rows(float* x, i64 xOff, int cols) {
    __shared__ float scratch[32];
    float* xr = x + xOff + (i64) blockIdx.x * cols;
    float m;
    const float s = exp_row(xr, cols, scratch, m);
    const float inv = 1.0f / s;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        xr[c] *= inv;
    }
}

// Keeps (value, index) with the smaller index on ties, so the first maximum wins; NaN loses to
// every number, and among NaNs the smaller index wins.
__device__ __forceinline__ void arg_better(float& v, int& i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i) || (v != v && (ov == ov || oi < i))) {
        v = ov;
        i = oi;
    }
}

extern "C" __global__ void argmax_rows(const float* x, i64 xOff, int cols, int* out, i64 outOff) {
    __shared__ float sv[32];
    __shared__ int si[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const float* xr = x + xOff + (i64) blockIdx.x * cols;
    float best = -INFINITY;
    int at = 0x7fffffff;  // a thread with no columns loses every comparison
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = xr[c];
        // Strictly greater, so this thread's first maximum stays; a number replaces a NaN.
        if (at == 0x7fffffff || v > best || (best != best && v == v)) {
            best = v;
            at = c;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        arg_better(best, at, __shfl_xor_sync(FULL_MASK, best, o), __shfl_xor_sync(FULL_MASK, at, o));
    }
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = at;
    }
    __syncthreads();
    if (warp == 0) {
        best = lane < warps ? sv[lane] : -INFINITY;
        at = lane < warps ? si[lane] : 0x7fffffff;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            arg_better(best, at, __shfl_xor_sync(FULL_MASK, best, o), __shfl_xor_sync(FULL_MASK, at, o));
        }
        if (lane == 0) {
            out[outOff + blockIdx.x] = at;
        }
    }
}

// ---- Attention ----

// A block takes 16 query rows (row = token * group + head within the group) of one KV head, so
// the K and V tiles it loads serve every query head of the group. Keys go through shared memory
// 32 at a time (rows padded to 129 floats: lane j reading key j walks 32 banks); each warp owns
// 4 query rows, interleaved (warp w has rows w, w + 4, ...: in decode, where a block's rows are
// one token's group of query heads, the warps share them instead of one warp taking all) and keeps an online softmax (max m, sum l, unnormalised output o) for each, lane
// j scoring key j and lane d accumulating output dimensions d, d + 32, ... A block covers the keys
// [split * keysPerSplit, +keysPerSplit) clipped to what its last token may see; row t sees keys
// 0 .. startPos + t. With part == 0 it writes o / l, else (split-KV decode) it writes o, m, l to
// part[split][token * heads + head][headDim + 2] for attention_merge. With positions non-null the
// first token's position is read from there instead of startPos, and splits past the last
// visible key write an empty partial (m = -inf, l = 0): the host may then plan the splits for
// the cache's capacity, so one recorded launch serves every decode step.
#define AT_KEYS 32
#define AT_WARPS 4
#define AT_ROWS 4
#define AT_MAXD 128
#define AT_DPL (AT_MAXD / 32)

// One block's share of attention over one sequence: q and out at its first query row, the caches
// at slot 0, and the partials of split-KV decode as rows partRow0 .. of partRows per split.
__device__ __forceinline__ void attention_tile(const float* __restrict__ q, const float* __restrict__ kCache,
                                               const float* __restrict__ vCache, float* out, float* part,
                                               i64 partRow0, i64 partRows, int tokens, int startPos, int heads,
                                               int kvHeads, int headDim, float scale, int keysPerSplit,
                                               int rowBlock) {
    __shared__ float ks[AT_KEYS][AT_MAXD + 1];
    __shared__ float vs[AT_KEYS][AT_MAXD + 1];
    __shared__ float qs[AT_WARPS * AT_ROWS][AT_MAXD];
    __shared__ float ps[AT_WARPS][AT_KEYS];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int group = heads / kvHeads;
    const int g = blockIdx.y;
    const int split = blockIdx.z;
    const int totalRows = tokens * group;
    const int row0 = rowBlock * (AT_WARPS * AT_ROWS);
    const int rowEnd = min(row0 + AT_WARPS * AT_ROWS, totalRows);
    const i64 kvStride = (i64) kvHeads * headDim;
    const int kBegin = split * keysPerSplit;
    const int kEnd = min(kBegin + keysPerSplit, startPos + (rowEnd - 1) / group + 1);

    for (int idx = tid; idx < AT_WARPS * AT_ROWS * headDim; idx += blockDim.x) {
        const int rr = idx / headDim, d = idx - rr * headDim;
        const int r = row0 + rr;
        float v = 0.f;
        if (r < totalRows) {
            const int t = r / group, h = g * group + (r - t * group);
            v = q[((i64) t * heads + h) * headDim + d];
        }
        qs[rr][d] = v;
    }

    float m[AT_ROWS], l[AT_ROWS], o[AT_ROWS][AT_DPL];
    int pos[AT_ROWS];
#pragma unroll
    for (int i = 0; i < AT_ROWS; i++) {
        const int r = row0 + i * AT_WARPS + warp;
        pos[i] = r < totalRows ? startPos + r / group : -1;  // -1: no such row
        m[i] = -INFINITY;
        l[i] = 0.f;
#pragma unroll
        for (int c = 0; c < AT_DPL; c++) {
            o[i][c] = 0.f;
        }
    }

    for (int j0 = kBegin; j0 < kEnd; j0 += AT_KEYS) {
        __syncthreads();  // the previous tile is consumed (and, the first time, qs is written)
        for (int idx = tid; idx < AT_KEYS * headDim; idx += blockDim.x) {
            const int jj = idx / headDim, d = idx - jj * headDim;
            const int key = j0 + jj;
            float kv = 0.f, vv = 0.f;  // zeros past kEnd: never NaN from slots nobody may read
            if (key < kEnd) {
                const i64 a = (i64) key * kvStride + (i64) g * headDim + d;
                kv = kCache[a];
                vv = vCache[a];
            }
            ks[jj][d] = kv;
            vs[jj][d] = vv;
        }
        __syncthreads();
        const int key = j0 + lane;
#pragma unroll
        for (int i = 0; i < AT_ROWS; i++) {
            if (pos[i] < 0) {
                continue;  // the same for the whole warp
            }
            const float* qr = qs[i * AT_WARPS + warp];
            // Four partial sums: one chain of headDim dependent FMAs made decode latency-bound.
            float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
            int d = 0;
            for (; d + 3 < headDim; d += 4) {
                s0 += qr[d] * ks[lane][d];
                s1 += qr[d + 1] * ks[lane][d + 1];
                s2 += qr[d + 2] * ks[lane][d + 2];
                s3 += qr[d + 3] * ks[lane][d + 3];
            }
            for (; d < headDim; d++) {
                s0 += qr[d] * ks[lane][d];
            }
            float s = (s0 + s1) + (s2 + s3);
            const bool visible = key < kEnd && key <= pos[i];
            s = visible ? s * scale : -INFINITY;
            const float mNew = fmaxf(m[i], warp_max(s));
            // mNew is -inf only while this row has seen no key; then nothing is rescaled.
            const float alpha = mNew == -INFINITY ? 1.f : expf(m[i] - mNew);
            const float p = visible ? expf(s - mNew) : 0.f;
            l[i] = l[i] * alpha + warp_sum(p);
            m[i] = mNew;
            ps[warp][lane] = p;
            __syncwarp();
#pragma unroll
            for (int c = 0; c < AT_DPL; c++) {
                const int d = lane + 32 * c;
                if (d < headDim) {
                    float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
#pragma unroll
                    for (int jj = 0; jj < AT_KEYS; jj += 4) {
                        a0 += ps[warp][jj] * vs[jj][d];
                        a1 += ps[warp][jj + 1] * vs[jj + 1][d];
                        a2 += ps[warp][jj + 2] * vs[jj + 2][d];
                        a3 += ps[warp][jj + 3] * vs[jj + 3][d];
                    }
                    o[i][c] = o[i][c] * alpha + ((a0 + a1) + (a2 + a3));
                }
            }
            __syncwarp();  // ps is rewritten by the next row
        }
    }

#pragma unroll
    for (int i = 0; i < AT_ROWS; i++) {
        if (pos[i] < 0) {
            continue;
        }
        const int r = row0 + i * AT_WARPS + warp;
        const int t = r / group, h = g * group + (r - t * group);
        const i64 rowId = (i64) t * heads + h;
        if (part == 0) {
            const float inv = 1.0f / l[i];
#pragma unroll
            for (int c = 0; c < AT_DPL; c++) {
                const int d = lane + 32 * c;
                if (d < headDim) {
                    out[rowId * headDim + d] = o[i][c] * inv;
                }
            }
        } else {
            float* pr = part + ((i64) split * partRows + partRow0 + rowId) * (headDim + 2);
#pragma unroll
            for (int c = 0; c < AT_DPL; c++) {
                const int d = lane + 32 * c;
                if (d < headDim) {
                    pr[d] = o[i][c];
                }
            }
            if (lane == 0) {
                pr[headDim] = m[i];
                pr[headDim + 1] = l[i];
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(AT_WARPS * 32)
attention(const float* __restrict__ q, i64 qOff, const float* __restrict__ kCache, i64 kOff,
          const float* __restrict__ vCache, i64 vOff, float* out, i64 outOff, float* part,
          int tokens, int startPos, int heads, int kvHeads, int headDim, float scale, int keysPerSplit,
          const int* positions, i64 posOff) {
    if (positions != 0) {
        startPos = positions[posOff];  // token t is at startPos + t: the host need not know startPos
    }
    attention_tile(q + qOff, kCache + kOff, vCache + vOff, out + outOff, part, 0, (i64) tokens * heads, tokens,
                   startPos, heads, kvHeads, headDim, scale, keysPerSplit, blockIdx.x);
}

// Decode attention of a batch of sequences in one launch, each against its own cache: sequence s
// has one query row per head at row s of q and out, its caches at the device addresses seqs[4s]
// (keys) and seqs[4s + 1] (values), slot 0, its keys split in chunks of seqs[4s + 3] (its own
// plan, from its slots, seqs[4s + 2]), and its position at positions[posOff + s]. Block x is
// (s, row block), z the split; splits past a sequence's own plan see no key and write an empty
// partial. The partials of all sequences go to one buffer, rows s * heads .. of sequences * heads
// per split, so a single attention_merge finishes them all, and each sequence gets the bits its
// own attention launch would give (the empty partials weigh exactly nothing), whatever the batch.
extern "C" __global__ void __launch_bounds__(AT_WARPS * 32)
attention_batch(const float* __restrict__ q, i64 qOff, const i64* __restrict__ seqs, float* out, i64 outOff,
                float* part, int sequences, int heads, int kvHeads, int headDim, float scale,
                const int* __restrict__ positions, i64 posOff) {
    const int blocksPerSeq = (heads / kvHeads + AT_WARPS * AT_ROWS - 1) / (AT_WARPS * AT_ROWS);
    const int s = blockIdx.x / blocksPerSeq;
    const i64 row = (i64) s * heads * headDim;
    attention_tile(q + qOff + row, (const float*) seqs[4 * s], (const float*) seqs[4 * s + 1], out + outOff + row,
                   part, (i64) s * heads, (i64) sequences * heads, 1, positions[posOff + s], heads, kvHeads,
                   headDim, scale, (int) seqs[4 * s + 3], blockIdx.x - s * blocksPerSeq);
}

// One block per (token, head): combines the splits' partial softmaxes, each rescaled to the
// largest max. A split that saw no key has m = -inf, l = 0, o = 0 and weighs nothing.
extern "C" __global__ void attention_merge(const float* part, int splits, int rowsTotal, int headDim,
                                           float* out, i64 outOff) {
    const i64 stride = (i64) rowsTotal * (headDim + 2);
    const float* p0 = part + (i64) blockIdx.x * (headDim + 2);
    float mMax = -INFINITY;
    for (int s = 0; s < splits; s++) {
        mMax = fmaxf(mMax, p0[s * stride + headDim]);
    }
    float sum = 0.f;
    for (int s = 0; s < splits; s++) {
        const float ms = p0[s * stride + headDim];
        const float wgt = ms == -INFINITY ? 0.f : expf(ms - mMax);
        sum += wgt * p0[s * stride + headDim + 1];
    }
    const float inv = 1.0f / sum;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
        float acc = 0.f;
        for (int s = 0; s < splits; s++) {
            const float ms = p0[s * stride + headDim];
            const float wgt = ms == -INFINITY ? 0.f : expf(ms - mMax);
            acc += wgt * p0[s * stride + d];
        }
        out[outOff + (i64) blockIdx.x * headDim + d] = acc * inv;
    }
}

// ---- Training: the general matrix product, backward kernels and AdamW ----
// Gradient outputs accumulate (dx += ...), as Device's training methods say.

// C[m, n] = op(A)[m, k] . op(B)[k, n], or C += ... when accumulate. A is F32, stored [m, k] or
// (transA) [k, m]; B has type W, stored [k, n] or (transB) [n, k]. The tiles of gemm: 64x64 of C
// per block of 256 threads, each thread a 4x4 register block (rows ty + 16i, columns tx + 16j).
// Each 32-deep k slice is loaded walking the stored matrix along its contiguous dimension, so a
// warp's loads coalesce in either layout; it is stored k-major and padded by one column, so
// neither walk's stores conflict on banks.
#define MM_TILE 64
#define MM_BK 32
#define MM_THREADS 256

template <class W>
__device__ __forceinline__ void matmul(const float* __restrict__ a, int transA, const typename W::T* __restrict__ b,
                                       int transB, float* c, int m, int n, int k, int accumulate) {
    __shared__ float as[MM_BK][MM_TILE + 1];  // as[kk][i] = op(A)[m0 + i, k0 + kk]
    __shared__ float bs[MM_BK][MM_TILE + 1];  // bs[kk][j] = op(B)[k0 + kk, n0 + j]
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * MM_TILE, n0 = blockIdx.x * MM_TILE;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            acc[i][j] = 0.f;
        }
    }
    for (int k0 = 0; k0 < k; k0 += MM_BK) {
        for (int e = tid; e < MM_BK * MM_TILE; e += MM_THREADS) {
            // A stored [k, m] has m contiguous; stored [m, k], k.
            const int ka = transA ? e / MM_TILE : e % MM_BK;
            const int i = transA ? e % MM_TILE : e / MM_BK;
            const int row = m0 + i, pa = k0 + ka;
            as[ka][i] = (row < m && pa < k) ? a[transA ? (i64) pa * m + row : (i64) row * k + pa] : 0.f;
            // B stored [n, k] has k contiguous; stored [k, n], n.
            const int kb = transB ? e % MM_BK : e / MM_TILE;
            const int j = transB ? e / MM_BK : e % MM_TILE;
            const int col = n0 + j, pb = k0 + kb;
            bs[kb][j] = (col < n && pb < k) ? W::at(b, transB ? (i64) col * k + pb : (i64) pb * n + col) : 0.f;
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < MM_BK; kk++) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                av[i] = as[kk][ty + 16 * i];
                bv[i] = bs[kk][tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    acc[i][j] += av[i] * bv[j];
                }
            }
        }
        __syncthreads();  // the tiles are consumed before the next slice overwrites them
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int row = m0 + ty + 16 * i;
        if (row >= m) {
            continue;
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int col = n0 + tx + 16 * j;
            if (col < n) {
                const i64 o = (i64) row * n + col;
                c[o] = accumulate ? c[o] + acc[i][j] : acc[i][j];
            }
        }
    }
}

#define MATMUL_ENTRY(NAME, W)                                                                          \
    extern "C" __global__ void __launch_bounds__(MM_THREADS)                                           \
    NAME(const float* a, i64 aOff, int transA, const W::T* b, i64 bOff, int transB, float* c, i64 cOff, \
         int m, int n, int k, int accumulate) {                                                        \
        matmul<W>(a + aOff, transA, b + bOff, transB, c + cOff, m, n, k, accumulate);                  \
    }

MATMUL_ENTRY(matmul_f32, WF32)
MATMUL_ENTRY(matmul_bf16, WBF16)
MATMUL_ENTRY(matmul_f16, WF16)

// RMSNorm's backward. Block b takes rows [b * rowsPerBlock, +rowsPerBlock) one after another. Per
// row, with g = dy * w and r = 1 / sqrt(mean(x^2) + eps) computed as rms_norm does (the same
// reduction, so the same r for the same block size): dx += g * r - x * (r^3 * mean(g * x)).
// With partial non-null the block also writes partial[b][j] = the sum over its rows, in row
// order, of dy_j * x_j * r (F32), and rms_norm_backward_dw sums the partials; the host then
// passes a fixed rowsPerBlock, so the order of every sum is fixed too. Thread t owns columns
// t, t + blockDim, ... in every row, so its partial entries need no barrier.
extern "C" __global__ void rms_norm_backward(const float* x, i64 xOff, const void* w, i64 wOff, int wType,
                                             const float* dy, i64 dyOff, float* dx, i64 dxOff, float* partial,
                                             int rows, int rowsPerBlock, int dim, float eps) {
    __shared__ float scratch[32];
    const int r0 = blockIdx.x * rowsPerBlock;
    const int r1 = min(rows, r0 + rowsPerBlock);
    float* pb = partial != 0 ? partial + (i64) blockIdx.x * dim : 0;
    for (int r = r0; r < r1; r++) {
        const float* xr = x + xOff + (i64) r * dim;
        const float* dyr = dy + dyOff + (i64) r * dim;
        float* dxr = dx + dxOff + (i64) r * dim;
        float ss = 0.f, gx = 0.f;
        for (int k = threadIdx.x; k < dim; k += blockDim.x) {
            const float v = xr[k];
            ss += v * v;
            gx += (dyr[k] * widen_any(w, wType, wOff + k)) * v;
        }
        ss = block_sum(ss, scratch);
        gx = block_sum(gx, scratch);
        const float inv = 1.0f / sqrtf(ss / dim + eps);
        const float coef = inv * inv * inv * (gx / dim);
        for (int k = threadIdx.x; k < dim; k += blockDim.x) {
            const float v = xr[k], d = dyr[k];
            const float g = d * widen_any(w, wType, wOff + k);
            dxr[k] += g * inv - v * coef;
            if (pb != 0) {
                const float term = d * v * inv;
                pb[k] = r == r0 ? term : pb[k] + term;
            }
        }
    }
}

// dw[j] += column j of the partials, summed in block order in double (as the CPU backend sums its
// row blocks' partials) and rounded once: one thread per column.
extern "C" __global__ void rms_norm_backward_dw(const float* partial, int blocks, int dim, float* dw, i64 dwOff) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < dim) {
        double total = 0;
        for (int b = 0; b < blocks; b++) {
            total += partial[(i64) b * dim + j];
        }
        dw[dwOff + j] = (float) ((double) dw[dwOff + j] + total);
    }
}

// SwiGLU's backward, as the CPU backend: with s = 1 / (1 + e^-g), dUp += dOut * (g * s) and
// dGate += (dOut * up) * (s * (1 + g * (1 - s))). Large |g| saturate cleanly: e^-g = inf gives
// s = 0, e^-g = 0 gives s = 1.
extern "C" __global__ void swiglu_backward(const float* gate, i64 gateOff, const float* up, i64 upOff,
                                           const float* dOut, i64 dOutOff, float* dGate, i64 dGateOff,
                                           float* dUp, i64 dUpOff, i64 n) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        const float g = gate[gateOff + i];
        const float s = 1.0f / (1.0f + expf(-g));
        const float d = dOut[dOutOff + i];
        dUp[dUpOff + i] += d * (g * s);
        dGate[dGateOff + i] += (d * up[upOff + i]) * (s * (1.0f + g * (1.0f - s)));
    }
}

// dTable[ids[i], :] += dOut[i, :]. One thread per column walks i in order: repeated ids sum in
// order of i, the CPU backend's additions bit for bit, and no two threads touch one element (no
// atomics, whose order would vary). An id outside [0, vocab) adds nothing: the ids live on the
// device, where the host cannot check them.
extern "C" __global__ void embedding_backward(const int* ids, i64 idsOff, int rows, const float* dOut, i64 dOutOff,
                                              int dim, float* dTable, i64 dTableOff, i64 vocab) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= dim) {
        return;
    }
    for (int i = 0; i < rows; i++) {
        const int id = ids[idsOff + i];
        if (id >= 0 && id < vocab) {
            dTable[dTableOff + (i64) id * dim + c] += dOut[dOutOff + (i64) i * dim + c];
        }
    }
}

// Softmax cross-entropy, in place, one block per row. A row of weight 0 becomes zero with loss 0
// (its target unread); else loss = max + log(sum) - x[target] and the row becomes
// weight * (softmax - onehot(target)), as the CPU backend: exp(x - max) stored with its sum, then
// scaled by weight / sum, with weight taken off at the target. Each thread sums its exponentials
// in F32 and the block adds the partials as a tree, so the rounding grows with the log of the
// row's length (a vocabulary summed in one F32 chain would lose digits of the loss). A target
// outside the row gives a NaN loss and no onehot.
extern "C" __global__ void cross_entropy(float* x, i64 xOff, int cols, const int* targets, i64 targetsOff,
                                         const float* weights, i64 weightsOff, float* losses, i64 lossesOff) {
    __shared__ float scratch[32];
    const int r = blockIdx.x;
    float* xr = x + xOff + (i64) r * cols;
    const float weight = weights[weightsOff + r];
    if (weight == 0.f) {  // the same for the whole block, before any barrier
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            xr[c] = 0.f;
        }
        if (threadIdx.x == 0) {
            losses[lossesOff + r] = 0.f;
        }
        return;
    }
    const int target = targets[targetsOff + r];
    const bool valid = target >= 0 && target < cols;
    // Read before exp_row's barriers: no thread has overwritten the row yet.
    const float targetLogit = valid ? xr[target] : 0.f;
    float m;
    const float s = exp_row(xr, cols, scratch, m);
    const float factor = weight / s;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float g = xr[c] * factor;
        if (c == target) {
            g -= weight;
        }
        xr[c] = g;
    }
    if (threadIdx.x == 0) {
        // In double, as the CPU backend: log(sum) - (x[target] - max) may cancel.
        losses[lossesOff + r] = valid ? (float) ((double) m + log((double) s) - (double) targetLogit) : NAN;
    }
}

// Attention's backward (causal GQA self-attention of one sequence, startPos 0), in two passes
// that each recompute the probabilities from q and k (memory O(tokens), never tokens x tokens).
// For query row (t, h), KV head g = h / group and keys j <= t:
//   s_j = scale q.k_j, p = softmax(s), dp_j = dOut.v_j, D = sum_j p_j dp_j, ds_j = p_j (dp_j - D)
//   dq_t += scale sum_j ds_j k_j,   dk_j += scale sum ds_j q_t,   dv_j += sum p_j dOut_t
// D is sum p dp, as in the CPU backend, not dOut.out: it comes from the very p and dp that ds is
// made of, so a row with one visible key (the first token) has ds = 0 exactly, as the softmax's
// gradient has.
// Each gradient element is summed by one thread in a fixed order (no atomics), so the bits do not
// depend on scheduling. Pass 1 (attention_backward_q) writes each row's max, 1/sum and D to
// stats[3][tokens * heads] for pass 2 (attention_backward_kv).
#define AB_TILE 32
#define AB_THREADS 128

// a . b over n elements in four chains of explicit FMAs. Both passes compute each score and each
// dp with it on the same values, and explicit FMAs leave nvcc nothing to contract differently in
// the two kernels, so they agree to the bit: pass 2's ds of a single-key row is 0 exactly too.
__device__ __forceinline__ float ab_dot(const float* a, const float* b, int n) {
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
    int d = 0;
    for (; d + 3 < n; d += 4) {
        s0 = fmaf(a[d], b[d], s0);
        s1 = fmaf(a[d + 1], b[d + 1], s1);
        s2 = fmaf(a[d + 2], b[d + 2], s2);
        s3 = fmaf(a[d + 3], b[d + 3], s3);
    }
    for (; d < n; d++) {
        s0 = fmaf(a[d], b[d], s0);
    }
    return (s0 + s1) + (s2 + s3);
}

// The scaled score, its product rounded on its own (never fused with the "- max" that follows).
__device__ __forceinline__ float ab_score(const float* qr, const float* kr, int headDim, float scale) {
    return __fmul_rn(ab_dot(qr, kr, headDim), scale);
}

// Pass 1, one block per query row (token t, head h), a thread per head dimension. Keys go through
// shared memory 32 at a time (rows padded to 129 floats: lane j reading key j walks 32 banks);
// warp 0 scores them while warp 1 takes dp. Sweep 1 keeps the forward's online max m and sum l,
// and n = sum e^(s - m) dp rescaled with l, so D = n / l; sweep 2 forms ds and thread d adds
// scale sum_j ds_j k_j[d] in key order. Blocks start with the last token, which has the most keys.
extern "C" __global__ void __launch_bounds__(AB_THREADS)
attention_backward_q(const float* __restrict__ q, i64 qOff, const float* __restrict__ k, i64 kOff,
                     const float* __restrict__ v, i64 vOff, const float* __restrict__ dOut, i64 dOutOff,
                     float* dq, i64 dqOff, float* stats, int tokens, int heads, int kvHeads, int headDim,
                     float scale) {
    __shared__ float ks[AB_TILE][AT_MAXD + 1];
    __shared__ float vs[AB_TILE][AT_MAXD + 1];
    __shared__ float qs[AT_MAXD];
    __shared__ float dos[AT_MAXD];
    __shared__ float ps[AB_TILE];
    __shared__ float dps[AB_TILE];
    __shared__ float rowStat[3];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int t = tokens - 1 - blockIdx.x, h = blockIdx.y;
    const int g = h / (heads / kvHeads);
    const int keys = t + 1;
    const i64 row = (i64) t * heads + h, rows = (i64) tokens * heads;
    const i64 kvStride = (i64) kvHeads * headDim;
    for (int d = tid; d < headDim; d += blockDim.x) {
        qs[d] = q[qOff + row * headDim + d];
        dos[d] = dOut[dOutOff + row * headDim + d];
    }
    float m = -INFINITY, l = 0.f, n = 0.f;  // warp 0's (every lane holds the same)
    float acc = 0.f;                        // dq of dimension tid (ds carries the scale)
    for (int sweep = 0; sweep < 2; sweep++) {
        float inv = 0.f, delta = 0.f;
        if (sweep == 1) {
            m = rowStat[0];
            inv = rowStat[1];
            delta = rowStat[2];
        }
        for (int j0 = 0; j0 < keys; j0 += AB_TILE) {
            __syncthreads();  // the previous tile is consumed (the first time: qs, dos, rowStat are written)
            for (int idx = tid; idx < AB_TILE * headDim; idx += blockDim.x) {
                const int jj = idx / headDim, d = idx - jj * headDim;
                const int key = j0 + jj;
                float kv = 0.f, vv = 0.f;
                if (key < keys) {
                    const i64 a = (i64) key * kvStride + (i64) g * headDim + d;
                    kv = k[kOff + a];
                    vv = v[vOff + a];
                }
                ks[jj][d] = kv;
                vs[jj][d] = vv;
            }
            __syncthreads();
            const bool visible = j0 + lane < keys;
            float s = -INFINITY;
            if (warp == 0 && visible) {
                s = ab_score(qs, ks[lane], headDim, scale);
            } else if (warp == 1) {
                dps[lane] = visible ? ab_dot(dos, vs[lane], headDim) : 0.f;
            }
            if (sweep == 0) {
                __syncthreads();  // dps is written
                if (warp == 0) {
                    const float mNew = fmaxf(m, warp_max(s));  // finite: key j0 is visible
                    const float alpha = expf(m - mNew);       // 0 on the first tile, where l = n = 0
                    const float e = visible ? expf(s - mNew) : 0.f;
                    l = l * alpha + warp_sum(e);
                    n = n * alpha + warp_sum(e * dps[lane]);
                    m = mNew;
                }
            } else {
                if (warp == 0) {
                    ps[lane] = visible ? expf(s - m) * inv : 0.f;
                }
                __syncthreads();  // ps and dps are written
                const int nk = min(AB_TILE, keys - j0);
                if (tid < headDim) {
                    for (int jj = 0; jj < nk; jj++) {
                        const float ds = ps[jj] * (dps[jj] - delta) * scale;
                        acc = fmaf(ds, ks[jj][tid], acc);
                    }
                }
            }
        }
        if (sweep == 0 && tid == 0) {
            const float stat[3] = {m, 1.0f / l, n / l};
            for (int i = 0; i < 3; i++) {
                rowStat[i] = stat[i];
                stats[i * rows + row] = stat[i];
            }
        }
        __syncthreads();  // rowStat is written
    }
    if (tid < headDim) {
        dq[dqOff + row * headDim + tid] += acc;
    }
}

// Pass 2, one block per (key j, KV head g), a thread per head dimension: every query row that sees
// key j, i.e. (t, head of the group) for t = j.. in that order, 32 rows at a time through shared
// memory. Warp 0 recomputes p from the saved max and 1/sum, warp 1 dp (and fetches D); thread d
// then adds p dOut[d] to dv and scale ds q[d] to dk, row by row. Early keys, seen by the most
// rows, are the first blocks.
extern "C" __global__ void __launch_bounds__(AB_THREADS)
attention_backward_kv(const float* __restrict__ q, i64 qOff, const float* __restrict__ k, i64 kOff,
                      const float* __restrict__ v, i64 vOff, const float* __restrict__ dOut, i64 dOutOff,
                      const float* __restrict__ stats, float* dk, i64 dkOff, float* dv, i64 dvOff, int tokens,
                      int heads, int kvHeads, int headDim, float scale) {
    __shared__ float qts[AB_TILE][AT_MAXD + 1];
    __shared__ float dts[AB_TILE][AT_MAXD + 1];
    __shared__ float kj[AT_MAXD];
    __shared__ float vj[AT_MAXD];
    __shared__ float ps[AB_TILE];
    __shared__ float dps[AB_TILE];
    __shared__ float deltas[AB_TILE];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int j = blockIdx.x, g = blockIdx.y, group = heads / kvHeads;
    const i64 kvAt = ((i64) j * kvHeads + g) * headDim;
    const i64 allRows = (i64) tokens * heads;
    const int rows = (tokens - j) * group;
    for (int d = tid; d < headDim; d += blockDim.x) {
        kj[d] = k[kOff + kvAt + d];
        vj[d] = v[vOff + kvAt + d];
    }
    float accK = 0.f, accV = 0.f;
    for (int r0 = 0; r0 < rows; r0 += AB_TILE) {
        __syncthreads();  // the previous tile is consumed (the first time: kj, vj are written)
        for (int idx = tid; idx < AB_TILE * headDim; idx += blockDim.x) {
            const int rr = idx / headDim, d = idx - rr * headDim;
            const int r = r0 + rr;
            float qv = 0.f, dov = 0.f;
            if (r < rows) {
                const int tt = r / group;
                const i64 qRow = (i64) (j + tt) * heads + g * group + (r - tt * group);
                qv = q[qOff + qRow * headDim + d];
                dov = dOut[dOutOff + qRow * headDim + d];
            }
            qts[rr][d] = qv;
            dts[rr][d] = dov;
        }
        __syncthreads();
        const int r = r0 + lane;
        if (r < rows && warp < 2) {
            const int tt = r / group;
            const i64 qRow = (i64) (j + tt) * heads + g * group + (r - tt * group);
            if (warp == 0) {
                ps[lane] = expf(ab_score(qts[lane], kj, headDim, scale) - stats[qRow]) * stats[allRows + qRow];
            } else {
                dps[lane] = ab_dot(dts[lane], vj, headDim);
                deltas[lane] = stats[2 * allRows + qRow];
            }
        }
        __syncthreads();
        const int nr = min(AB_TILE, rows - r0);
        if (tid < headDim) {
            for (int rr = 0; rr < nr; rr++) {
                const float p = ps[rr];
                const float ds = p * (dps[rr] - deltas[rr]) * scale;
                accV = fmaf(p, dts[rr][tid], accV);
                accK = fmaf(ds, qts[rr][tid], accK);
            }
        }
    }
    if (tid < headDim) {
        dk[dkOff + kvAt + tid] += accK;
        dv[dvOff + kvAt + tid] += accV;
    }
}

// ---- Sum of squares (gradient clipping by global norm) ----

#define SQ_THREADS 256
#define SQ_PER_THREAD 16  // a block sums SumOfSquares.BLOCK = SQ_THREADS * SQ_PER_THREAD elements

// partials[pOff + blockIdx.x] = the F32 sum of the squares of its block of x (pOff places several
// vectors' block sums one after another), in SumOfSquares' fixed
// order (the OpenCL kernel's too): thread t adds elements t, t + 256, ... in turn, then the 256
// sums are added by halving strides. __fmul_rn/__fadd_rn keep nvcc from contracting into FMAs.
extern "C" __global__ void __launch_bounds__(SQ_THREADS) sum_of_squares(const float* x, i64 xOff, i64 n,
                                                                         float* partials, i64 pOff) {
    __shared__ float sums[SQ_THREADS];
    const int t = threadIdx.x;
    const i64 base = (i64) blockIdx.x * (SQ_THREADS * SQ_PER_THREAD);
    float acc = 0.0f;
    for (int j = 0; j < SQ_PER_THREAD; j++) {
        const i64 i = base + (i64) j * SQ_THREADS + t;
        if (i < n) {
            const float v = x[xOff + i];
            acc = __fadd_rn(acc, __fmul_rn(v, v));
        }
    }
    sums[t] = acc;
    __syncthreads();
    for (int stride = SQ_THREADS / 2; stride > 0; stride >>= 1) {
        if (t < stride) {
            sums[t] = __fadd_rn(sums[t], sums[t + stride]);
        }
        __syncthreads();
    }
    if (t == 0) {
        partials[pOff + blockIdx.x] = sums[0];
    }
}

// One SGD step by SgdStep's arithmetic: d = fma(p, wd, g); with momentum d = first ? d : buf * m + d
// (__fmul_rn/__fadd_rn: a product and a sum, never contracted), stored to buf; p = fma(d, negLr, p).
// Without momentum buf is not touched.
extern "C" __global__ void sgd(float* p, i64 pOff, const float* grad, i64 gradOff, float* buf, i64 bufOff, i64 n,
                               int hasMomentum, int first, float momentum, float wd, float negLr) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        const float pe = p[pOff + i];
        float d = fmaf(pe, wd, grad[gradOff + i]);
        if (hasMomentum) {
            if (!first) {
                d = __fadd_rn(__fmul_rn(buf[bufOff + i], momentum), d);
            }
            buf[bufOff + i] = d;
        }
        p[pOff + i] = fmaf(d, negLr, pe);
    }
}

// One AdamW step by AdamWStep's arithmetic, operation by operation as the CPU backend (and torch):
//   p *= decay; m = fma(g - m, coeff, small ? m : g); v = v * beta2 + (c2 * g) * g;
//   p += (negStepSize * m) / (sqrt(v) / bc2Sqrt + eps).
// Products that feed a sum are __fmul_rn/__fadd_rn so that nvcc cannot contract them into FMAs
// (which round once instead of twice); the lerp is the one fused multiply-add. sqrtf and the
// divisions are IEEE-rounded (no fast math), so the result is the CPU backend's bits.
extern "C" __global__ void adamw(float* p, i64 pOff, const float* grad, i64 gradOff, float* m, i64 mOff,
                                 float* v, i64 vOff, i64 n, float decay, float lerpCoeff, int smallLerp,
                                 float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStepSize) {
    for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (i64) gridDim.x * blockDim.x) {
        const float g = grad[gradOff + i];
        const float pe = __fmul_rn(p[pOff + i], decay);
        float me = m[mOff + i];
        me = fmaf(g - me, lerpCoeff, smallLerp ? me : g);
        const float ve = __fadd_rn(__fmul_rn(v[vOff + i], beta2), __fmul_rn(__fmul_rn(oneMinusBeta2, g), g));
        const float denom = __fadd_rn(sqrtf(ve) / bc2Sqrt, eps);
        p[pOff + i] = __fadd_rn(pe, __fmul_rn(negStepSize, me) / denom);
        m[mOff + i] = me;
        v[vOff + i] = ve;
    }
}
