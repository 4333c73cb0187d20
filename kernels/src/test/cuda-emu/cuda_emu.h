// A CPU emulation of the small part of CUDA C++ that reflectrm_kernels.cu uses, so that the
// unmodified .cu compiles with g++ and its kernels run on the CPU (emu_test.cpp).
//
// Execution model: a launch runs its blocks one after another. The threads of a block are fibers
// (cooperative user-space contexts on one OS thread, switched by a few lines of x86-64 assembly):
// each runs until it reaches a synchronisation point (__syncthreads, __syncwarp, a shuffle) or
// exits, and a point releases its waiters once every thread it concerns has arrived. Which
// runnable fiber goes next follows g_sched (breadth-first, depth-first or random, see Sched) over
// an order shuffled with a seeded generator, so code that relies on an ordering that no barrier
// guarantees (a shared-memory race, a missing __syncthreads between warps) gives wrong answers
// under at least one of them; emu_test runs every case under all three.
// Because blocks run one at a time, `__shared__` can simply be `static`: every fiber of the
// block sees the same array.
//
// Checks beyond plain execution, each a hard failure naming the kernel, block and thread:
//   - a __syncthreads that some threads of the block never reach (deadlock) or reached after
//     other threads exited (undefined behaviour in CUDA);
//   - a warp-synchronous operation (shuffle, __syncwarp) that not all 32 lanes execute, or that
//     the lanes execute with different operations/lane masks (divergent shuffles);
//   - a shuffle with a mask other than all 32 lanes (the file only uses FULL_MASK);
//   - a launch whose block is not a whole number of warps.
// Memory errors are caught by the harness' allocator (guard pages) and by UBSan
// (-fsanitize=undefined: misaligned float4/uint4 loads, out-of-bounds shared-array indices).
#pragma once

// Tells reflectrm_kernels.cu that it runs here (it then takes mma_bf16_16816 from this file).
#define REFLECTRM_CUDA_EMU 1

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#if !defined(__x86_64__)
#error "cuda_emu.h: the fiber switch is written for x86-64"
#endif

// ---- Vector and index types ----

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

// Alignment as CUDA declares it, so UBSan flags a float4/uint4 load from a misaligned address
// (a "misaligned address" fault on a GPU).
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

// ---- Qualifiers ----

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
// __restrict__ is understood by g++ as is.

// ---- Fibers ----

namespace emu {

struct Fiber {
    void* sp = nullptr;   // saved stack pointer while switched out
    char* stackLo = nullptr;
    uint3 tid{0, 0, 0};
    enum State { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_SYNC, DONE } state = RUNNABLE;
    unsigned parity = 0;  // which half of the warp's shuffle buffer the next shuffle uses
};

struct WarpSync {
    int arrived = 0;
    int kind = -1;       // see sync_name
    int param = 0;       // lane mask of an xor shuffle
    unsigned long long buf[2][32];
    unsigned frag[2][32][6];  // each lane's MMA fragments: A's four registers, then B's two
};

// Extern-linkage globals: the compiler must assume the context switch (an opaque call) changes them.
inline Fiber* g_cur = nullptr;
inline uint3 g_blockIdx{0, 0, 0};
inline dim3 g_blockDim{1, 1, 1};
inline dim3 g_gridDim{1, 1, 1};
inline const char* g_kernel = "(none)";
inline void* g_mainSp = nullptr;
inline std::vector<Fiber>* g_fibers = nullptr;
inline std::vector<WarpSync>* g_warps = nullptr;
inline std::deque<Fiber*>* g_runnable = nullptr;
inline int g_live = 0;           // fibers of the block not yet exited
inline int g_blockArrived = 0;   // fibers waiting at __syncthreads
inline std::mt19937_64* g_rng = nullptr;
inline const std::function<void()>* g_body = nullptr;

extern "C" void emu_ctx_switch(void** save, void* to);
asm(R"(
    .text
    .globl emu_ctx_switch
    .type emu_ctx_switch,@function
emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_ctx_switch, .-emu_ctx_switch
)");

[[noreturn]] inline void fail(const char* fmt, const char* detail) {
    const Fiber* f = g_cur;
    std::fprintf(stderr, "\nEMU FAILURE in kernel %s, block (%u,%u,%u) of grid (%u,%u,%u), blockDim %u",
                 g_kernel, g_blockIdx.x, g_blockIdx.y, g_blockIdx.z, g_gridDim.x, g_gridDim.y, g_gridDim.z,
                 g_blockDim.x);
    if (f) {
        std::fprintf(stderr, ", thread %u", f->tid.x);
    }
    std::fprintf(stderr, ": ");
    std::fprintf(stderr, fmt, detail);
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
    _exit(3);
}

// Switches from the current fiber back to the scheduler.
inline void yield_to_scheduler() {
    Fiber* f = g_cur;
    asm volatile("" ::: "memory");
    emu_ctx_switch(&f->sp, g_mainSp);
    asm volatile("" ::: "memory");
}

inline void release(std::vector<Fiber*>& waiters) {
    std::shuffle(waiters.begin(), waiters.end(), *g_rng);
    for (Fiber* w : waiters) {
        w->state = Fiber::RUNNABLE;
        g_runnable->push_back(w);
    }
}

inline void try_release_block_barrier() {
    if (g_blockArrived == 0 || g_blockArrived < g_live) {
        return;
    }
    if (g_live < (int) g_blockDim.x) {
        fail("%s", "__syncthreads reached after some threads of the block exited (undefined behaviour)");
    }
    std::vector<Fiber*> waiters;
    for (Fiber& f : *g_fibers) {
        if (f.state == Fiber::AT_BLOCK_BARRIER) {
            waiters.push_back(&f);
        }
    }
    g_blockArrived = 0;
    release(waiters);
}

inline void syncthreads() {
    Fiber* f = g_cur;
    f->state = Fiber::AT_BLOCK_BARRIER;
    g_blockArrived++;
    try_release_block_barrier();
    yield_to_scheduler();
}

inline const char* sync_name(int kind) {
    static const char* names[] = {"__syncwarp", "shfl_xor", "shfl_down", "mma"};
    return kind >= 0 && kind < 4 ? names[kind] : "?";
}

// A warp-synchronous point of kind (0 __syncwarp, 1 shfl_xor, 2 shfl_down, 3 mma) with param;
// returns once all 32 lanes arrived.
inline void warp_sync(int kind, int param) {
    Fiber* f = g_cur;
    const int warp = f->tid.x >> 5;
    WarpSync& w = (*g_warps)[warp];
    if (w.arrived == 0) {
        w.kind = kind;
        w.param = param;
    } else if (w.kind != kind || w.param != param) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "lanes of warp %d disagree at a warp-synchronous point: %s(%d) vs %s(%d)",
                      warp, sync_name(w.kind), w.param, sync_name(kind), param);
        fail("%s", msg);
    }
    f->state = Fiber::AT_WARP_SYNC;
    if (++w.arrived == 32) {
        w.arrived = 0;
        std::vector<Fiber*> waiters;
        for (int l = 0; l < 32; l++) {
            waiters.push_back(&(*g_fibers)[warp * 32 + l]);
        }
        release(waiters);
    }
    yield_to_scheduler();
}

template <class T>
inline T shfl_xor(unsigned mask, T v, int laneMask, int width) {
    static_assert(sizeof(T) <= 8, "shuffle of a large type");
    if (mask != 0xffffffffu) {
        fail("%s", "shuffle with a partial mask (the emulator only models full-warp shuffles)");
    }
    if (width != 32) {
        fail("%s", "shuffle with width != 32");
    }
    Fiber* f = g_cur;
    const int lane = f->tid.x & 31;
    WarpSync& w = (*g_warps)[f->tid.x >> 5];
    const unsigned p = f->parity;
    f->parity ^= 1;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    w.buf[p][lane] = bits;
    warp_sync(1, laneMask);
    T r;
    const unsigned long long got = w.buf[p][(lane ^ laneMask) & 31];
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

template <class T>
inline T shfl_down(unsigned mask, T v, unsigned delta, int width) {
    if (mask != 0xffffffffu || width != 32) {
        fail("%s", "shuffle with a partial mask or width");
    }
    Fiber* f = g_cur;
    const int lane = f->tid.x & 31;
    WarpSync& w = (*g_warps)[f->tid.x >> 5];
    const unsigned p = f->parity;
    f->parity ^= 1;
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    w.buf[p][lane] = bits;
    warp_sync(2, (int) delta);
    const int src = lane + (int) delta;
    if (src >= 32) {
        return v;
    }
    T r;
    const unsigned long long got = w.buf[p][src];
    std::memcpy(&r, &got, sizeof(T));
    return r;
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: d (16x8, F32) += a (16x16) . b (16x8),
// a warp-wide operation. Every lane hands in its fragments and gets its four accumulators back,
// laid out as the PTX ISA's "Matrix Fragments for mma.m16n8k16" gives them, with g = lane >> 2
// and t = lane % 4 (two BF16 per register, the first in the low half):
//   A registers 0..3: (row g, cols 2t, 2t+1), (row g+8, cols 2t, 2t+1), (row g, cols 2t+8, 2t+9),
//                     (row g+8, cols 2t+8, 2t+9)
//   B registers 0..1: (rows 2t, 2t+1 of col g), (rows 2t+8, 2t+9 of col g)
//   D/C d0..d3:       (row g, cols 2t, 2t+1), (row g+8, cols 2t, 2t+1)
// A product of two BF16 numbers is exact in F32; the 16 products are added to c in k order in
// F32 (the tensor cores' order and internal width are unspecified: the tests' bound covers it).
inline void mma_bf16_16816(float d[4], const unsigned a[4], const unsigned b[2]) {
    Fiber* f = g_cur;
    const int lane = f->tid.x & 31;
    WarpSync& w = (*g_warps)[f->tid.x >> 5];
    const unsigned p = f->parity;
    f->parity ^= 1;
    for (int i = 0; i < 4; i++) {
        w.frag[p][lane][i] = a[i];
    }
    w.frag[p][lane][4] = b[0];
    w.frag[p][lane][5] = b[1];
    warp_sync(3, 0);
    auto half = [](unsigned reg, int high) {
        unsigned bits = high ? (reg & 0xffff0000u) : (reg << 16);
        float v;
        std::memcpy(&v, &bits, 4);
        return v;
    };
    auto A = [&](int row, int k) {
        const int src = (row & 7) * 4 + (k & 7) / 2, reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        return half(w.frag[p][src][reg], k & 1);
    };
    auto B = [&](int k, int col) {
        const int src = col * 4 + (k & 7) / 2, reg = 4 + (k >= 8 ? 1 : 0);
        return half(w.frag[p][src][reg], k & 1);
    };
    const int g = lane >> 2, t = lane & 3;
    for (int c = 0; c < 4; c++) {
        const int row = g + (c >= 2 ? 8 : 0), col = 2 * t + (c & 1);
        float s = d[c];
        for (int k = 0; k < 16; k++) {
            volatile float prod = A(row, k) * B(k, col);
            s += prod;
        }
        d[c] = s;
    }
}

// ---- Running a block ----

constexpr size_t kStackBytes = 128 * 1024;
constexpr size_t kPage = 4096;

struct StackPool {
    std::vector<char*> stacks;
    char* get(size_t i) {
        while (stacks.size() <= i) {
            void* m = mmap(nullptr, kStackBytes + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
            if (m == MAP_FAILED) {
                std::perror("mmap stack");
                std::exit(2);
            }
            mprotect(m, kPage, PROT_NONE);  // overflow guard at the low end
            stacks.push_back((char*) m + kPage);
        }
        return stacks[i];
    }
};
inline StackPool g_stacks;

[[noreturn]] inline void fiber_entry() {
    (*g_body)();
    Fiber* f = g_cur;
    // A warp that still has a lane inside a warp-synchronous point can never complete it.
    const WarpSync& w = (*g_warps)[f->tid.x >> 5];
    if (w.arrived > 0) {
        fail("%s", "thread exited while other lanes of its warp wait at a shuffle/__syncwarp");
    }
    f->state = Fiber::DONE;
    g_live--;
    try_release_block_barrier();
    emu_ctx_switch(&f->sp, g_mainSp);
    std::abort();
}

// Lays out a fresh stack so that the first switch to it "returns" into fiber_entry.
inline void* prepare_stack(char* lo) {
    uintptr_t top = ((uintptr_t) (lo + kStackBytes)) & ~(uintptr_t) 15;
    uintptr_t* sp = (uintptr_t*) (top - 16);
    sp[0] = (uintptr_t) &fiber_entry;  // popped by ret: rsp % 16 == 8 at entry, as after a call
    sp[1] = 0;                         // fiber_entry's own (never used) return address
    sp -= 6;                           // r15 r14 r13 r12 rbx rbp
    for (int i = 0; i < 6; i++) {
        sp[i] = 0;
    }
    return sp;
}

inline unsigned long long g_seed = 12345;

// Which runnable fiber goes next. FIFO runs every released fiber once before any runs again
// (breadth-first); LIFO lets the fibers released last (typically one warp that just completed a
// shuffle) run on and overtake the rest, which exposes a missing __syncthreads between warps;
// RANDOM picks any runnable fiber.
enum Sched { FIFO, LIFO, RANDOM };
inline Sched g_sched = FIFO;

// Runs body (the kernel call) for a grid of 1-D blocks.
inline void launch(const char* name, dim3 grid, unsigned block, const std::function<void()>& body) {
    g_kernel = name;
    if (block == 0 || block > 1024 || block % 32 != 0) {
        char msg[64];
        std::snprintf(msg, sizeof msg, "block of %u threads", block);
        fail("%s: blocks must be whole warps, 32..1024 threads", msg);
    }
    std::vector<Fiber> fibers(block);
    std::vector<WarpSync> warps(block / 32);
    std::deque<Fiber*> runnable;
    std::mt19937_64 rng(g_seed++);
    g_fibers = &fibers;
    g_warps = &warps;
    g_runnable = &runnable;
    g_rng = &rng;
    g_body = &body;
    g_gridDim = grid;
    g_blockDim = dim3(block, 1, 1);
    for (unsigned bz = 0; bz < grid.z; bz++) {
        for (unsigned by = 0; by < grid.y; by++) {
            for (unsigned bx = 0; bx < grid.x; bx++) {
                g_blockIdx = uint3{bx, by, bz};
                g_live = (int) block;
                g_blockArrived = 0;
                runnable.clear();
                for (unsigned t = 0; t < block; t++) {
                    Fiber& f = fibers[t];
                    f = Fiber();
                    f.tid = uint3{t, 0, 0};
                    f.stackLo = g_stacks.get(t);
                    f.sp = prepare_stack(f.stackLo);
                    runnable.push_back(&f);
                }
                for (WarpSync& w : warps) {
                    w.arrived = 0;
                }
                std::shuffle(runnable.begin(), runnable.end(), rng);
                // Run until every fiber is done; runnable grows as barriers release fibers.
                while (true) {
                    if (runnable.empty()) {
                        if (g_live == 0) {
                            break;
                        }
                        // Nothing can run and some fibers have not exited: a deadlock.
                        g_cur = nullptr;
                        int atBlock = 0, atWarp = 0;
                        for (Fiber& f : fibers) {
                            atBlock += f.state == Fiber::AT_BLOCK_BARRIER;
                            atWarp += f.state == Fiber::AT_WARP_SYNC;
                        }
                        char msg[160];
                        std::snprintf(msg, sizeof msg,
                                      "deadlock: %d threads wait at __syncthreads, %d at a warp-synchronous point, "
                                      "%d exited", atBlock, atWarp, (int) block - g_live);
                        fail("%s", msg);
                    }
                    Fiber* f;
                    if (g_sched == FIFO) {
                        f = runnable.front();
                        runnable.pop_front();
                    } else {
                        if (g_sched == RANDOM) {
                            std::swap(runnable.back(), runnable[rng() % runnable.size()]);
                        }
                        f = runnable.back();
                        runnable.pop_back();
                    }
                    g_cur = f;
                    emu_ctx_switch(&g_mainSp, f->sp);
                    g_cur = nullptr;
                }
            }
        }
    }
    g_kernel = "(none)";
}

}  // namespace emu

// ---- Built-in variables ----

#define threadIdx (::emu::g_cur->tid)
#define blockIdx (::emu::g_blockIdx)
#define blockDim (::emu::g_blockDim)
#define gridDim (::emu::g_gridDim)
static constexpr int warpSize = 32;

// ---- Synchronisation and warp primitives ----

static inline void __syncthreads() { emu::syncthreads(); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) {
    if (mask != 0xffffffffu) {
        emu::fail("%s", "__syncwarp with a partial mask");
    }
    emu::warp_sync(0, 0);
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
    return emu::shfl_xor(mask, v, laneMask, width);
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return emu::shfl_down(mask, v, delta, width);
}
static inline void mma_bf16_16816(float d[4], const unsigned a[4], const unsigned b[2]) { emu::mma_bf16_16816(d, a, b); }

// ---- Math and bit built-ins ----

static inline float __uint_as_float(unsigned int u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
static inline float __int_as_float(int u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
static inline unsigned int __float_as_uint(float f) {
    unsigned int u;
    std::memcpy(&u, &f, 4);
    return u;
}
static inline int __float_as_int(float f) {
    int u;
    std::memcpy(&u, &f, 4);
    return u;
}
// Round-to-nearest single operations, never contracted into an FMA (g++ -std=c++17 on x86-64
// without -mfma does not contract; the volatile makes it certain).
static inline float __fmul_rn(float a, float b) {
    volatile float r = a * b;
    return r;
}
static inline float __fadd_rn(float a, float b) {
    volatile float r = a + b;
    return r;
}
static inline float __fsub_rn(float a, float b) {
    volatile float r = a - b;
    return r;
}
template <class T>
static inline T __ldg(const T* p) { return *p; }
// CUDA's device min/max for ints (the .cu calls min(int, int)).
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
// expf, sqrtf, fmaxf, pow, cos, sin come from <cmath> (glibc); CUDA's expf is within 2 ulp of it.

// ---- cuda_fp16.h: the half type and an exact widening ----

struct __half {
    unsigned short bits;
};
static inline __half __ushort_as_half(unsigned short b) { return __half{b}; }
static inline unsigned short __half_as_ushort(__half h) { return h.bits; }
static inline float __half2float(__half h) {
    const unsigned int sign = (unsigned int) (h.bits & 0x8000u) << 16;
    const unsigned int exp = (h.bits >> 10) & 0x1f;
    unsigned int mant = h.bits & 0x3ffu;
    unsigned int out;
    if (exp == 0x1f) {
        out = sign | 0x7f800000u | (mant << 13);  // inf / NaN
    } else if (exp != 0) {
        out = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        out = sign;
    } else {  // subnormal: normalise
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while (!(mant & 0x400u));
        out = sign | ((unsigned int) (112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    return __uint_as_float(out);
}
