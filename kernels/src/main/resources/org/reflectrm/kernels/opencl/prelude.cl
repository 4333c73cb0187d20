// Shared by every program: how stored values widen to float, and work-group reductions.
//
// Weights (the big operands of the matmuls and the embedding table) have their storage type
// fixed at build time by one of WEIGHT_F32 / WEIGHT_F16 / WEIGHT_BF16, so the inner loops have no
// per-element type switch. Small operands (norm weights) carry their type as a kernel argument:
// they are read once per element of x, never in a weight-streaming loop.

#define DT_F32 0
#define DT_F16 1
#define DT_BF16 2

#if defined(WEIGHT_BF16)
typedef ushort wtype;
// BF16 is the top half of an F32.
#define LOADW(p, i) as_float((uint)(p)[i] << 16)
inline float8 loadw8(__global const ushort* p, int aligned) {
    ushort8 b = aligned ? *(__global const ushort8*)p : vload8(0, p);
    return as_float8(convert_uint8(b) << 16);
}
#elif defined(WEIGHT_F16)
// half may only name storage without cl_khr_fp16: vload_half widens it (core in OpenCL 1.2).
typedef half wtype;
#define LOADW(p, i) vload_half((i), (p))
inline float8 loadw8(__global const half* p, int aligned) {
    return aligned ? vloada_half8(0, p) : vload_half8(0, p);
}
#else
typedef float wtype;
#define LOADW(p, i) ((p)[i])
inline float8 loadw8(__global const float* p, int aligned) {
    return aligned ? *(__global const float8*)p : vload8(0, p);
}
#endif

/** x[0..8) from a float row; aligned means p sits on a 32-byte boundary, so one wide load does. */
inline float8 loadx8(__global const float* p, int aligned) {
    return aligned ? *(__global const float8*)p : vload8(0, p);
}

/** Element i of a small operand whose type is only known at run time (uniform branch). */
inline float load_any(__global const uchar* p, int type, size_t i) {
    if (type == DT_BF16) {
        return as_float((uint)((__global const ushort*)p)[i] << 16);
    }
    if (type == DT_F16) {
        return vload_half(i, (__global const half*)p);
    }
    return ((__global const float*)p)[i];
}

inline float8 load_any8(__global const uchar* p, int type, size_t i) {
    if (type == DT_BF16) {
        return as_float8(convert_uint8(vload8(0, (__global const ushort*)p + i)) << 16);
    }
    if (type == DT_F16) {
        return vload_half8(0, (__global const half*)p + i);
    }
    return vload8(0, (__global const float*)p + i);
}

inline float dot8(float8 a, float8 b) {
    return dot(a.lo, b.lo) + dot(a.hi, b.hi);
}

/** Sum of v over the work-group (a power-of-two size); scratch holds one float per work-item. */
inline float group_sum(float v, __local float* scratch) {
    int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) {
            scratch[lid] += scratch[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    // Nobody may overwrite scratch[0] (a next reduction) before everyone has read it.
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/** Max of v over the work-group (a power-of-two size). */
inline float group_max(float v, __local float* scratch) {
    int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) {
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/** 1 / sqrt(mean(x^2) + eps) of x[0..n), as transformers' RMSNorm, reduced over the work-group. */
inline float group_inv_rms(__global const float* x, int n, float eps, __local float* scratch) {
    float ss = 0.0f;
    for (int i = get_local_id(0); i < n; i += get_local_size(0)) {
        float v = x[i];
        ss += v * v;
    }
    return 1.0f / sqrt(group_sum(ss, scratch) / n + eps);
}
