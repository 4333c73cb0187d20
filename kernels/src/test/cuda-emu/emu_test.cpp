// Runs the kernels of reflectrm_kernels.cu, compiled unmodified by g++ against cuda_emu.h, on the
// CPU and checks each Device method against a double-precision reference.
//
// The host side (class EmuCudaDevice) mirrors org.reflectrm.kernels.cuda.CudaDevice line by line:
// which kernel runs for which case, its grid and block, the argument values (buffer base
// addresses plus element offsets), and the split-KV plan and partials buffer of decode attention.
// Keep it in step with CudaDevice.java: a divergence here makes a result meaningless.
//
// Operands follow DeviceContract: PAD NaN elements, the values, one trailing NaN; device buffers
// come from an allocator that ends each buffer at a PROT_NONE page (an over-read faults) and
// every launch's output buffer is compared, outside the region the method may write, with its
// contents before the launch (an out-of-range write fails).
#include "cuda_emu.h"

// EMU_KERNELS_CU: another copy of the .cu (mutation testing of this harness); normally the real one.
#ifdef EMU_KERNELS_CU
#include EMU_KERNELS_CU
#else
#include "../../main/cuda/reflectrm_kernels.cu"
#endif

#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <stdexcept>

namespace {

// ---- Element types ----

enum DType { F32 = 0, BF16 = 1, F16 = 2 };
const char* dtypeName(DType t) { return t == F32 ? "F32" : t == BF16 ? "BF16" : "F16"; }
int byteSize(DType t) { return t == F32 ? 4 : 2; }

unsigned short toBf16(float v) {  // as DeviceContract: the top half of the F32 bits
    unsigned int u;
    std::memcpy(&u, &v, 4);
    return (unsigned short) (u >> 16);
}

unsigned short toF16(float v) {  // truncating F32 -> F16 (any valid F16 does; the reference widens the bits)
    if (std::isnan(v)) {
        return 0x7e00;
    }
    unsigned int u;
    std::memcpy(&u, &v, 4);
    unsigned short sign = (unsigned short) ((u >> 16) & 0x8000);
    float a = std::fabs(v);
    if (a >= 65504.f) {
        return sign | 0x7bff;
    }
    if (a < 6.103515625e-05f) {  // subnormal: units of 2^-24
        return sign | (unsigned short) (a * 16777216.f);
    }
    int e = (int) ((u >> 23) & 0xff) - 127;
    return sign | (unsigned short) ((e + 15) << 10) | (unsigned short) ((u >> 13) & 0x3ff);
}

// Independent widening in double (not the shim's __half2float).
double widenF16(unsigned short h) {
    int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0x1f) {
        v = m ? NAN : INFINITY;
    } else if (e == 0) {
        v = std::ldexp((double) m, -24);
    } else {
        v = std::ldexp((double) (1024 + m), e - 25);
    }
    return sign ? -v : v;
}

double widenBf16(unsigned short h) {
    unsigned int u = (unsigned int) h << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// ---- Device memory with guard pages ----

struct Buf {
    char* base = nullptr;  // 16-byte aligned; the buffer ends 0..15 bytes before a PROT_NONE page
    size_t bytes = 0;
    void* map = nullptr;
    size_t mapLen = 0;
};

std::vector<Buf> g_allBufs;

Buf dalloc(size_t bytes) {
    const size_t page = 4096;
    size_t rounded = (std::max<size_t>(bytes, 1) + 15) & ~(size_t) 15;
    size_t dataPages = (rounded + page - 1) / page;
    size_t len = (dataPages + 2) * page;
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        std::perror("mmap");
        std::exit(2);
    }
    char* lo = (char*) m;
    mprotect(lo, page, PROT_NONE);
    mprotect(lo + (dataPages + 1) * page, page, PROT_NONE);
    Buf b;
    b.map = m;
    b.mapLen = len;
    b.bytes = bytes;
    b.base = lo + (dataPages + 1) * page - rounded;
    // Bytes before the buffer in its first page and the 0..15 slack after it: 0xff (NaN as F32).
    std::memset(lo + page, 0xff, (size_t) (b.base - (lo + page)));
    std::memset(b.base, 0, bytes);  // Device.allocate: zero-filled
    std::memset(b.base + bytes, 0xff, rounded - bytes);
    return b;
}

void dfree(Buf& b) {
    if (b.map) {
        munmap(b.map, b.mapLen);
    }
    b = Buf();
}

// RAII set of buffers for one test case.
struct Bufs {
    std::deque<Buf> v;  // references to its elements stay valid as it grows
    Buf& add(size_t bytes) {
        v.push_back(dalloc(bytes));
        return v.back();
    }
    ~Bufs() {
        for (Buf& b : v) {
            dfree(b);
        }
    }
};

// ---- Bookkeeping: which kernels a case launched, failures ----

struct KernelStats {
    int cases = 0, failed = 0, launches = 0;
    double worst = 0;  // largest error / bound over its cases
};
std::map<std::string, KernelStats> g_stats;
std::set<std::string> g_caseKernels;
std::vector<std::string> g_failures;

struct CaseFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- The CudaDevice mirror ----

int ceilDivI(int a, int b) { return (a + b - 1) / b; }
long long ceilDivL(long long a, long long b) { return (a + b - 1) / b; }

struct Region {  // a part of a buffer a launch may write
    const Buf* buf;
    long long off, count;
    int elemBytes;
};

// Launches a kernel as CudaDevice.launch does (same checks), then checks that only the allowed
// regions of the written buffers changed.
void launch(const char* symbol, int requiredBlock, long long gx, long long gy, long long gz, int block,
            const std::vector<Region>& writes, const std::function<void()>& body) {
    if (requiredBlock != 0 ? block != requiredBlock : (block < 32 || block > 1024 || block % 32 != 0)) {
        throw CaseFailure(std::string("kernel ") + symbol + " cannot run blocks of " + std::to_string(block));
    }
    if (gx < 1 || gx > 0x7fffffffLL || gy < 1 || gy > 65535 || gz < 1 || gz > 65535) {
        throw CaseFailure(std::string("kernel ") + symbol + ": grid beyond what CUDA launches");
    }
    // Snapshot of every written buffer, so writes outside the allowed regions show.
    std::vector<std::vector<char>> before;
    for (const Region& r : writes) {
        before.emplace_back(r.buf->base, r.buf->base + r.buf->bytes);
    }
    emu::launch(symbol, dim3((unsigned) gx, (unsigned) gy, (unsigned) gz), (unsigned) block, body);
    g_caseKernels.insert(symbol);
    g_stats[symbol].launches++;
    for (size_t i = 0; i < writes.size(); i++) {
        const Region& r = writes[i];
        size_t lo = (size_t) (r.off * r.elemBytes), hi = (size_t) ((r.off + r.count) * r.elemBytes);
        for (size_t k = 0; k < r.buf->bytes; k++) {
            if ((k < lo || k >= hi) && r.buf->base[k] != before[i][k]) {
                // Another region of the same launch on the same buffer may allow it.
                bool allowed = false;
                for (const Region& o : writes) {
                    if (o.buf == r.buf && k >= (size_t) (o.off * o.elemBytes) &&
                        k < (size_t) ((o.off + o.count) * o.elemBytes)) {
                        allowed = true;
                    }
                }
                if (!allowed) {
                    throw CaseFailure(std::string("kernel ") + symbol + " wrote byte " + std::to_string(k) +
                                      " of a buffer outside its output region [" + std::to_string(lo) + ", " +
                                      std::to_string(hi) + ")");
                }
            }
        }
    }
}

typedef void (*LinearFn)(const float*, i64, const void*, i64, const void*, i64, int, float, float*, i64, int, int,
                         int, int);
#define LIN(NAME, T)                                                                                          \
    {#NAME, [](const float* x, i64 xo, const void* w, i64 wo, const void* g, i64 go, int gt, float eps, float* y, \
               i64 yo, int r, int o, int in, int acc) { NAME(x, xo, (const T*) w, wo, g, go, gt, eps, y, yo, r, o, in, acc); }}

struct NamedLinear {
    const char* name;
    LinearFn fn;
};

// In Kernel.java's order: variant x {GEMV, GEMM} x {F32, BF16, F16}.
const NamedLinear kLinear[3][2][3] = {
    {{LIN(linear_gemv_f32, float), LIN(linear_gemv_bf16, unsigned short), LIN(linear_gemv_f16, unsigned short)},
     {LIN(linear_gemm_f32, float), LIN(linear_gemm_bf16, unsigned short), LIN(linear_gemm_f16, unsigned short)}},
    {{LIN(rms_linear_gemv_f32, float), LIN(rms_linear_gemv_bf16, unsigned short),
      LIN(rms_linear_gemv_f16, unsigned short)},
     {LIN(rms_linear_gemm_f32, float), LIN(rms_linear_gemm_bf16, unsigned short),
      LIN(rms_linear_gemm_f16, unsigned short)}},
    {{LIN(gate_up_gemv_f32, float), LIN(gate_up_gemv_bf16, unsigned short), LIN(gate_up_gemv_f16, unsigned short)},
     {LIN(gate_up_gemm_f32, float), LIN(gate_up_gemm_bf16, unsigned short), LIN(gate_up_gemm_f16, unsigned short)}}};

// The tensor-core GEMMs (BF16 weights only), per variant, as CudaDevice picks them on Hopper.
const NamedLinear kLinearTc[3] = {LIN(linear_tc_bf16, unsigned short), LIN(rms_linear_tc_bf16, unsigned short),
                                  LIN(gate_up_tc_bf16, unsigned short)};

enum Variant { PLAIN = 0, RMS = 1, GATE_UP = 2 };

class EmuCudaDevice {
  public:
    static constexpr int GEMV_MAX_ROWS_J = 8;
    static constexpr int GEMV_COLUMNS = 8;
    static constexpr int GEMM_TILE = 64;
    static constexpr int TC_BLOCK = 128;
    /** CudaDevice.tensorCores: the Hopper PTX is loaded, so BF16 GEMMs go to the tensor cores. */
    bool tensorCores = false;
    static constexpr int ATTENTION_ROWS = 16;
    static constexpr int ATTENTION_MAX_HEAD_DIM = 128;
    static constexpr int SPLIT_KEYS = 128;
    static constexpr int MAX_SPLITS = 64;
    static constexpr int ELEMENTWISE_BLOCK = 256;
    static constexpr long long MAX_ELEMENTWISE_BLOCKS = 1LL << 20;

    Buf partialsBuf;

    ~EmuCudaDevice() { dfree(partialsBuf); }

    static char* at(const Buf& b, long long off, long long count, int elemBytes, const char* what) {
        if (off < 0 || count < 0 || (off + count) * elemBytes > (long long) b.bytes) {
            throw CaseFailure(std::string(what) + ": elements outside the buffer");
        }
        return b.base;
    }

    static int threads(int work, int max) { return std::min(max, std::max(32, (work + 31) / 32 * 32)); }

    static long long elementwiseBlocks(long long n) {
        return std::min(MAX_ELEMENTWISE_BLOCKS, (n + ELEMENTWISE_BLOCK - 1) / ELEMENTWISE_BLOCK);
    }

    void linearFamily(Variant variant, const Buf& x, long long xOff, const Buf* gamma, long long gOff, DType gType,
                      float eps, const Buf& w, long long wOff, DType wType, const Buf& y, long long yOff, int rows,
                      int out, int in, bool accumulate) {
        if (rows == 0 || out == 0) {
            return;
        }
        bool gemv = rows <= GEMV_MAX_ROWS_J;
        bool tc = !gemv && tensorCores && wType == BF16;
        const NamedLinear& k = tc ? kLinearTc[variant] : kLinear[variant][gemv ? 0 : 1][wType];
        long long weightRows = variant == GATE_UP ? 2LL * out : out;
        const float* px = (const float*) at(x, xOff, (long long) rows * in, 4, "x");
        const void* pw = at(w, wOff, weightRows * in, byteSize(wType), "weight");
        const void* pg = nullptr;
        long long go = 0;
        int gt = 0;
        float e = 0.f;
        if (variant != PLAIN) {
            pg = at(*gamma, gOff, in, byteSize(gType), "gamma");
            go = gOff;
            gt = (int) gType;
            e = eps;
        }
        float* py = (float*) at(y, yOff, (long long) rows * out, 4, "y");
        int acc = accumulate ? 1 : 0;
        auto body = [=] { k.fn(px, xOff, pw, wOff, pg, go, gt, e, py, yOff, rows, out, in, acc); };
        std::vector<Region> writes = {{&y, yOff, (long long) rows * out, 4}};
        if (gemv) {
            launch(k.name, 256, ceilDivI(out, GEMV_COLUMNS), 1, 1, 256, writes, body);
        } else if (tc) {
            launch(k.name, TC_BLOCK, ceilDivI(out, GEMM_TILE), ceilDivI(rows, GEMM_TILE), 1, TC_BLOCK, writes, body);
        } else {
            launch(k.name, 256, ceilDivI(out, GEMM_TILE), ceilDivI(rows, GEMM_TILE), 1, 256, writes, body);
        }
    }

    void splitQkv(const Buf& qkv, long long qkvOff, int rows, int heads, int kvHeads, int headDim, const Buf& qNorm,
                  long long qNormOff, const Buf& kNorm, long long kNormOff, DType normType, float eps,
                  const Buf& positions, long long posOff, float theta, const Buf& q, long long qOff,
                  const Buf& kCache, long long kOff, const Buf& vCache, long long vOff, int byPosition = 0,
                  int slots = -1) {
        if (rows == 0) {
            return;
        }
        if (slots < 0) {
            slots = rows;  // CudaDevice.splitQkv: the rows from the slot kOff points at
        }
        long long qDim = (long long) heads * headDim, kvDim = (long long) kvHeads * headDim;
        const float* pqkv = (const float*) at(qkv, qkvOff, rows * (qDim + 2 * kvDim), 4, "qkv");
        const void* pqn = at(qNorm, qNormOff, headDim, byteSize(normType), "qNorm");
        const void* pkn = at(kNorm, kNormOff, headDim, byteSize(normType), "kNorm");
        const int* ppos = (const int*) at(positions, posOff, rows, 4, "positions");
        float* pq = (float*) at(q, qOff, rows * qDim, 4, "q");
        float* pk = (float*) at(kCache, kOff, slots * kvDim, 4, "kCache");
        float* pv = (float*) at(vCache, vOff, slots * kvDim, 4, "vCache");
        int nt = (int) normType;
        launch("split_qkv", 0, rows, heads + 2LL * kvHeads, 1, threads(headDim / 2, 128),
               {{&q, qOff, rows * qDim, 4}, {&kCache, kOff, slots * kvDim, 4}, {&vCache, vOff, slots * kvDim, 4}},
               [=] {
                   split_qkv(pqkv, qkvOff, heads, kvHeads, headDim, pqn, qNormOff, pkn, kNormOff, nt, eps, ppos, posOff,
                             theta, pq, qOff, pk, kOff, pv, vOff, byPosition, slots);
               });
    }

    void embedding(const Buf& table, long long tableOff, DType tableType, int dim, const Buf& ids, long long idsOff,
                   int rows, const Buf& out, long long outOff) {
        if (rows == 0 || dim == 0) {
            return;
        }
        const void* pt = at(table, tableOff, dim, byteSize(tableType), "table");
        const int* pi = (const int*) at(ids, idsOff, rows, 4, "ids");
        float* po = (float*) at(out, outOff, (long long) rows * dim, 4, "out");
        const char* name = tableType == F32 ? "embedding_f32" : tableType == BF16 ? "embedding_bf16" : "embedding_f16";
        launch(name, 0, rows, ceilDivI(dim, 256), 1, 256, {{&out, outOff, (long long) rows * dim, 4}}, [=] {
            if (tableType == F32) {
                embedding_f32((const float*) pt, tableOff, dim, pi, idsOff, po, outOff);
            } else if (tableType == BF16) {
                embedding_bf16((const unsigned short*) pt, tableOff, dim, pi, idsOff, po, outOff);
            } else {
                embedding_f16((const unsigned short*) pt, tableOff, dim, pi, idsOff, po, outOff);
            }
        });
    }

    void rmsNorm(const Buf& x, long long xOff, const Buf& w, long long wOff, DType wType, const Buf& y, long long yOff,
                 int rows, int dim, float eps) {
        if (rows == 0 || dim == 0) {
            return;
        }
        const float* px = (const float*) at(x, xOff, (long long) rows * dim, 4, "x");
        const void* pw = at(w, wOff, dim, byteSize(wType), "weight");
        float* py = (float*) at(y, yOff, (long long) rows * dim, 4, "y");
        int wt = (int) wType;
        launch("rms_norm", 0, rows, 1, 1, threads(dim, 256), {{&y, yOff, (long long) rows * dim, 4}},
               [=] { rms_norm(px, xOff, pw, wOff, wt, py, yOff, dim, eps); });
    }

    void rope(const Buf& x, long long xOff, int rows, int heads, int headDim, const Buf& positions, long long posOff,
              float theta) {
        if (rows == 0 || heads == 0 || headDim == 0) {
            return;
        }
        float* px = (float*) at(x, xOff, (long long) rows * heads * headDim, 4, "x");
        const int* pp = (const int*) at(positions, posOff, rows, 4, "positions");
        launch("rope", 0, rows, heads, 1, threads(headDim / 2, 128), {{&x, xOff, (long long) rows * heads * headDim, 4}},
               [=] { ::rope(px, xOff, heads, headDim, pp, posOff, theta); });
    }

    void binary(const char* name, const Buf& a, long long aOff, const Buf& b, long long bOff, const Buf& out,
                long long outOff, long long n) {
        if (n <= 0) {
            return;
        }
        const float* pa = (const float*) at(a, aOff, n, 4, "a");
        const float* pb = (const float*) at(b, bOff, n, 4, "b");
        float* po = (float*) at(out, outOff, n, 4, "out");
        bool isAdd = std::strcmp(name, "add") == 0;
        launch(name, 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK, {{&out, outOff, n, 4}}, [=] {
            if (isAdd) {
                ::add(pa, aOff, pb, bOff, po, outOff, n);
            } else {
                ::swiglu(pa, aOff, pb, bOff, po, outOff, n);
            }
        });
    }

    void copy(const Buf& src, long long srcOff, const Buf& dst, long long dstOff, long long n) {
        if (n <= 0) {
            return;
        }
        const float* ps = (const float*) at(src, srcOff, n, 4, "src");
        float* pd = (float*) at(dst, dstOff, n, 4, "dst");
        launch("copy_f32", 0, elementwiseBlocks((n + 3) / 4), 1, 1, ELEMENTWISE_BLOCK, {{&dst, dstOff, n, 4}},
               [=] { copy_f32(ps, srcOff, pd, dstOff, n); });
    }

    void scale(const Buf& a, long long aOff, float f, const Buf& out, long long outOff, long long n) {
        if (n <= 0) {
            return;
        }
        const float* pa = (const float*) at(a, aOff, n, 4, "a");
        float* po = (float*) at(out, outOff, n, 4, "out");
        launch("scale", 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK, {{&out, outOff, n, 4}},
               [=] { ::scale(pa, aOff, f, po, outOff, n); });
    }

    void zero(const Buf& x, long long xOff, long long n) {
        if (n <= 0) {
            return;
        }
        float* px = (float*) at(x, xOff, n, 4, "x");
        launch("zero_f32", 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK, {{&x, xOff, n, 4}},
               [=] { zero_f32(px, xOff, n); });
    }

    void softmax(const Buf& x, long long xOff, int rows, int cols) {
        if (rows == 0 || cols == 0) {
            return;
        }
        float* px = (float*) at(x, xOff, (long long) rows * cols, 4, "x");
        launch("softmax_rows", 0, rows, 1, 1, threads(cols, 1024), {{&x, xOff, (long long) rows * cols, 4}},
               [=] { softmax_rows(px, xOff, cols); });
    }

    void argmax(const Buf& x, long long xOff, int rows, int cols, const Buf& out, long long outOff) {
        if (rows == 0) {
            return;
        }
        const float* px = (const float*) at(x, xOff, (long long) rows * cols, 4, "x");
        int* po = (int*) at(out, outOff, rows, 4, "out");
        launch("argmax_rows", 0, rows, 1, 1, threads(cols, 1024), {{&out, outOff, rows, 4}},
               [=] { argmax_rows(px, xOff, cols, po, outOff); });
    }

    // The partials buffer, at least bytes long (grown on demand, at least 1 MiB, as CudaDevice).
    // Its contents are stale (here: NaN) where a launch did not write.
    float* partials(long long bytes) {
        if (partialsBuf.base == nullptr || (long long) partialsBuf.bytes < bytes) {
            dfree(partialsBuf);
            long long size = std::max(bytes, 1LL << 20);
            partialsBuf = dalloc((size_t) size);
        }
        std::memset(partialsBuf.base, 0xff, partialsBuf.bytes);  // NaN: reading an unwritten entry shows
        return (float*) partialsBuf.base;
    }

    int lastSplits = 0;

    void attention(const Buf& q, long long qOff, const Buf& kCache, long long kOff, const Buf& vCache, long long vOff,
                   const Buf& out, long long outOff, int tokens, int startPos, int heads, int kvHeads, int d,
                   float scale, const Buf* positions = nullptr, long long posOff = 0, int slots = 0) {
        if (tokens == 0) {
            return;
        }
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw CaseFailure("head_dim too large");
        }
        // CudaDevice.attentionAtPositions plans for the cache's slots and passes the positions;
        // the kernel must then take the first position from them (startPos is passed as -1).
        const int* ppos = positions ? (const int*) at(*positions, posOff, tokens, 4, "positions") : nullptr;
        int keys = positions ? slots : startPos + tokens;
        if (positions) {
            startPos = -1;
        }
        long long qCount = (long long) tokens * heads * d;
        long long kvCount = (long long) keys * kvHeads * d;
        int perSplit = tokens == 1 ? keysPerSplit(keys) : keys;
        int splits = ceilDivI(keys, perSplit);
        lastSplits = splits;
        long long rowsTotal = (long long) tokens * heads;
        float* part = splits > 1 ? partials(4LL * splits * rowsTotal * (d + 2)) : nullptr;
        float* po = (float*) at(out, outOff, qCount, 4, "out");
        const float* pq = (const float*) at(q, qOff, qCount, 4, "q");
        const float* pk = (const float*) at(kCache, kOff, kvCount, 4, "kCache");
        const float* pv = (const float*) at(vCache, vOff, kvCount, 4, "vCache");
        int group = heads / kvHeads;
        std::vector<Region> writes = {{&out, outOff, qCount, 4}};
        if (splits > 1) {
            writes = {{&partialsBuf, 0, (long long) splits * rowsTotal * (d + 2), 4}};
        }
        launch("attention", 128, ceilDivL((long long) tokens * group, ATTENTION_ROWS), kvHeads, splits, 128, writes,
               [=] {
                   ::attention(pq, qOff, pk, kOff, pv, vOff, po, outOff, part, tokens, startPos, heads, kvHeads, d,
                               scale, perSplit, ppos, posOff);
               });
        if (splits > 1) {
            int rt = (int) rowsTotal;
            launch("attention_merge", 0, rowsTotal, 1, 1, threads(d, 128), {{&out, outOff, qCount, 4}},
                   [=] { attention_merge(part, splits, rt, d, po, outOff); });
        }
    }

    // CudaDevice.attentionAtPositions(List, ...) for a batch of one-token sequences: one
    // attention_batch launch over a table of the caches' addresses (slot 0 of each), planned for
    // the largest cache, then one merge of every sequence's partials.
    Buf tableBuf;

    // CudaDevice.keysPerSplit: the split plan of a decode attention over `keys` keys.
    static int keysPerSplit(int keys) {
        if (keys <= SPLIT_KEYS) {
            return std::max(keys, 1);
        }
        int wanted = std::min(MAX_SPLITS, ceilDivI(keys, SPLIT_KEYS));
        return ceilDivI(ceilDivI(keys, wanted), 32) * 32;
    }

    // CudaDevice.sequenceTable: per sequence the addresses of its key and value slot 0 (element
    // kvOff of its caches), its slots and its keys per split, as attention_batch and
    // split_qkv_batch read them.
    const long long* sequenceTable(const std::vector<const Buf*>& kCaches, const std::vector<const Buf*>& vCaches,
                                   long long kvOff, const std::vector<int>& slots, long long kvRow) {
        int batch = (int) slots.size();
        dfree(tableBuf);
        tableBuf = dalloc(32 * (size_t) batch);
        long long* table = (long long*) tableBuf.base;
        for (int i = 0; i < batch; i++) {
            table[4 * i] = (long long) ((const float*) at(*kCaches[i], kvOff, slots[i] * kvRow, 4, "kCache") + kvOff);
            table[4 * i + 1] = (long long) ((const float*) at(*vCaches[i], kvOff, slots[i] * kvRow, 4, "vCache") + kvOff);
            table[4 * i + 2] = slots[i];
            table[4 * i + 3] = keysPerSplit(slots[i]);
        }
        return table;
    }

    // CudaDevice.splitQkvAtPositions(..., rows, caches) for a batch of one-row sequences: one
    // split_qkv_batch launch; row s goes to slot positions[s] of sequence s's own caches.
    void splitQkvBatch(const Buf& qkv, long long qkvOff, int heads, int kvHeads, int headDim, const Buf& qNorm,
                       long long qNormOff, const Buf& kNorm, long long kNormOff, DType normType, float eps,
                       const Buf& positions, long long posOff, float theta, const Buf& q, long long qOff,
                       const std::vector<const Buf*>& kCaches, const std::vector<const Buf*>& vCaches, long long kvOff,
                       const std::vector<int>& slots) {
        int batch = (int) slots.size();
        long long qDim = (long long) heads * headDim, kvDim = (long long) kvHeads * headDim;
        const long long* table = sequenceTable(kCaches, vCaches, kvOff, slots, kvDim);
        const float* pqkv = (const float*) at(qkv, qkvOff, batch * (qDim + 2 * kvDim), 4, "qkv");
        const void* pqn = at(qNorm, qNormOff, headDim, byteSize(normType), "qNorm");
        const void* pkn = at(kNorm, kNormOff, headDim, byteSize(normType), "kNorm");
        const int* ppos = (const int*) at(positions, posOff, batch, 4, "positions");
        float* pq = (float*) at(q, qOff, batch * qDim, 4, "q");
        std::vector<Region> writes = {{&q, qOff, batch * qDim, 4}};
        for (int i = 0; i < batch; i++) {
            writes.push_back({kCaches[i], kvOff, slots[i] * kvDim, 4});
            writes.push_back({vCaches[i], kvOff, slots[i] * kvDim, 4});
        }
        int nt = (int) normType;
        launch("split_qkv_batch", 0, batch, heads + 2LL * kvHeads, 1, threads(headDim / 2, 128), writes, [=] {
            split_qkv_batch(pqkv, qkvOff, heads, kvHeads, headDim, pqn, qNormOff, pkn, kNormOff, nt, eps, ppos, posOff,
                            theta, pq, qOff, table);
        });
    }

    void attentionBatch(const Buf& q, long long qOff, const std::vector<const Buf*>& kCaches,
                        const std::vector<const Buf*>& vCaches, long long kvOff, const Buf& out, long long outOff,
                        int heads, int kvHeads, int d, float scale, const Buf& positions, long long posOff,
                        const std::vector<int>& slots) {
        int batch = (int) slots.size();
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw CaseFailure("head_dim too large");
        }
        const long long* table = sequenceTable(kCaches, vCaches, kvOff, slots, (long long) kvHeads * d);
        long long qCount = (long long) batch * heads * d;
        const int* ppos = (const int*) at(positions, posOff, batch, 4, "positions");
        int splits = 1;
        for (int slot : slots) {
            splits = std::max(splits, ceilDivI(slot, keysPerSplit(slot)));
        }
        lastSplits = splits;
        long long rowsTotal = qCount / d;
        float* part = splits > 1 ? partials(4LL * splits * rowsTotal * (d + 2)) : nullptr;
        float* po = (float*) at(out, outOff, qCount, 4, "out");
        const float* pq = (const float*) at(q, qOff, qCount, 4, "q");
        const long long* pt = table;
        std::vector<Region> writes = {{&out, outOff, qCount, 4}};
        if (splits > 1) {
            writes = {{&partialsBuf, 0, (long long) splits * rowsTotal * (d + 2), 4}};
        }
        int group = heads / kvHeads;
        launch("attention_batch", 128, (long long) batch * ceilDivI(group, ATTENTION_ROWS), kvHeads, splits, 128,
               writes, [=] {
                   ::attention_batch(pq, qOff, pt, po, outOff, part, batch, heads, kvHeads, d, scale, ppos, posOff);
               });
        if (splits > 1) {
            int rt = (int) rowsTotal;
            launch("attention_merge", 0, rowsTotal, 1, 1, threads(d, 128), {{&out, outOff, qCount, 4}},
                   [=] { attention_merge(part, splits, rt, d, po, outOff); });
        }
    }

    // ---- Training (CudaDevice's training section) ----

    static constexpr int NORM_BACKWARD_ROWS = 32;

    void matmul(const Buf& a, long long aOff, bool transA, const Buf& b, long long bOff, DType bType, bool transB,
                const Buf& c, long long cOff, int m, int n, int k, bool accumulate) {
        if (!transA && transB) {  // the forward's layout goes to linear
            linearFamily(PLAIN, a, aOff, nullptr, 0, F32, 0.f, b, bOff, bType, c, cOff, m, n, k, accumulate);
            return;
        }
        if (m == 0 || n == 0) {
            return;
        }
        const float* pa = (const float*) at(a, aOff, (long long) m * k, 4, "a");
        const void* pb = at(b, bOff, (long long) k * n, byteSize(bType), "b");
        float* pc = (float*) at(c, cOff, (long long) m * n, 4, "c");
        const char* name = bType == F32 ? "matmul_f32" : bType == BF16 ? "matmul_bf16" : "matmul_f16";
        int ta = transA ? 1 : 0, tb = transB ? 1 : 0, acc = accumulate ? 1 : 0;
        launch(name, 256, ceilDivI(n, GEMM_TILE), ceilDivI(m, GEMM_TILE), 1, 256, {{&c, cOff, (long long) m * n, 4}},
               [=] {
                   if (bType == F32) {
                       matmul_f32(pa, aOff, ta, (const float*) pb, bOff, tb, pc, cOff, m, n, k, acc);
                   } else if (bType == BF16) {
                       matmul_bf16(pa, aOff, ta, (const unsigned short*) pb, bOff, tb, pc, cOff, m, n, k, acc);
                   } else {
                       matmul_f16(pa, aOff, ta, (const unsigned short*) pb, bOff, tb, pc, cOff, m, n, k, acc);
                   }
               });
    }

    void rmsNormBackward(const Buf& x, long long xOff, const Buf& w, long long wOff, DType wType, const Buf& dy,
                         long long dyOff, const Buf& dx, long long dxOff, const Buf* dw, long long dwOff, int rows,
                         int dim, float eps) {
        if (rows == 0 || dim == 0) {
            return;
        }
        int rowsPerBlock = dw ? NORM_BACKWARD_ROWS : 1;
        int blocks = ceilDivI(rows, rowsPerBlock);
        float* pdw = dw ? (float*) at(*dw, dwOff, dim, 4, "dw") : nullptr;
        float* partial = dw ? partials(4LL * blocks * dim) : nullptr;
        const float* px = (const float*) at(x, xOff, (long long) rows * dim, 4, "x");
        const void* pw = at(w, wOff, dim, byteSize(wType), "weight");
        const float* pdy = (const float*) at(dy, dyOff, (long long) rows * dim, 4, "dy");
        float* pdx = (float*) at(dx, dxOff, (long long) rows * dim, 4, "dx");
        int wt = (int) wType;
        std::vector<Region> writes = {{&dx, dxOff, (long long) rows * dim, 4}};
        if (dw) {
            writes.push_back({&partialsBuf, 0, (long long) blocks * dim, 4});
        }
        launch("rms_norm_backward", 0, blocks, 1, 1, threads(dim, 256), writes, [=] {
            rms_norm_backward(px, xOff, pw, wOff, wt, pdy, dyOff, pdx, dxOff, partial, rows, rowsPerBlock, dim, eps);
        });
        if (dw) {
            launch("rms_norm_backward_dw", 0, ceilDivI(dim, ELEMENTWISE_BLOCK), 1, 1, ELEMENTWISE_BLOCK,
                   {{dw, dwOff, dim, 4}}, [=] { rms_norm_backward_dw(partial, blocks, dim, pdw, dwOff); });
        }
    }

    void ropeInverse(const Buf& x, long long xOff, int rows, int heads, int headDim, const Buf& positions,
                     long long posOff, float theta) {
        if (rows == 0 || heads == 0 || headDim == 0) {
            return;
        }
        float* px = (float*) at(x, xOff, (long long) rows * heads * headDim, 4, "x");
        const int* pp = (const int*) at(positions, posOff, rows, 4, "positions");
        launch("rope_inverse", 0, rows, heads, 1, threads(headDim / 2, 128),
               {{&x, xOff, (long long) rows * heads * headDim, 4}},
               [=] { rope_inverse(px, xOff, heads, headDim, pp, posOff, theta); });
    }

    void swigluBackward(const Buf& gate, long long gateOff, const Buf& up, long long upOff, const Buf& dOut,
                        long long dOutOff, const Buf& dGate, long long dGateOff, const Buf& dUp, long long dUpOff,
                        long long n) {
        if (n <= 0) {
            return;
        }
        const float* pg = (const float*) at(gate, gateOff, n, 4, "gate");
        const float* pu = (const float*) at(up, upOff, n, 4, "up");
        const float* pd = (const float*) at(dOut, dOutOff, n, 4, "dOut");
        float* pdg = (float*) at(dGate, dGateOff, n, 4, "dGate");
        float* pdu = (float*) at(dUp, dUpOff, n, 4, "dUp");
        launch("swiglu_backward", 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK,
               {{&dGate, dGateOff, n, 4}, {&dUp, dUpOff, n, 4}},
               [=] { swiglu_backward(pg, gateOff, pu, upOff, pd, dOutOff, pdg, dGateOff, pdu, dUpOff, n); });
    }

    void embeddingBackward(const Buf& ids, long long idsOff, int rows, const Buf& dOut, long long dOutOff, int dim,
                           const Buf& dTable, long long dTableOff) {
        if (rows == 0 || dim == 0) {
            return;
        }
        float* pt = (float*) at(dTable, dTableOff, dim, 4, "dTable");
        long long vocab = ((long long) dTable.bytes / 4 - dTableOff) / dim;
        const int* pi = (const int*) at(ids, idsOff, rows, 4, "ids");
        const float* pd = (const float*) at(dOut, dOutOff, (long long) rows * dim, 4, "dOut");
        launch("embedding_backward", 0, ceilDivI(dim, ELEMENTWISE_BLOCK), 1, 1, ELEMENTWISE_BLOCK,
               {{&dTable, dTableOff, vocab * dim, 4}},
               [=] { embedding_backward(pi, idsOff, rows, pd, dOutOff, dim, pt, dTableOff, vocab); });
    }

    void crossEntropy(const Buf& logits, long long off, int rows, int cols, const Buf& targets, long long targetsOff,
                      const Buf& weights, long long weightsOff, const Buf& losses, long long lossesOff) {
        if (rows == 0) {
            return;
        }
        if (cols == 0) {
            throw CaseFailure("cross-entropy of an empty row");
        }
        float* px = (float*) at(logits, off, (long long) rows * cols, 4, "logits");
        const int* pt = (const int*) at(targets, targetsOff, rows, 4, "targets");
        const float* pw = (const float*) at(weights, weightsOff, rows, 4, "weights");
        float* pl = (float*) at(losses, lossesOff, rows, 4, "losses");
        launch("cross_entropy", 0, rows, 1, 1, threads(cols, 1024),
               {{&logits, off, (long long) rows * cols, 4}, {&losses, lossesOff, rows, 4}},
               [=] { cross_entropy(px, off, cols, pt, targetsOff, pw, weightsOff, pl, lossesOff); });
    }

    static constexpr int ATTENTION_BACKWARD_THREADS = 128;

    // startPos is 0 (the caller's shape); q, out, dOut [tokens, heads, d], k, v [tokens, kvHeads, d].
    void attentionBackward(const Buf& q, long long qOff, const Buf& k, long long kOff, const Buf& v, long long vOff,
                           const Buf& out, long long outOff, const Buf& dOut, long long dOutOff, const Buf& dq,
                           long long dqOff, const Buf& dk, long long dkOff, const Buf& dv, long long dvOff, int tokens,
                           int heads, int kvHeads, int d, float scale) {
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw CaseFailure("head_dim too large");
        }
        if (tokens == 0) {
            return;
        }
        long long qCount = (long long) tokens * heads * d, kvCount = (long long) tokens * kvHeads * d;
        at(out, outOff, qCount, 4, "out");
        const float* pq = (const float*) at(q, qOff, qCount, 4, "q");
        const float* pk = (const float*) at(k, kOff, kvCount, 4, "k");
        const float* pv = (const float*) at(v, vOff, kvCount, 4, "v");
        const float* pdo = (const float*) at(dOut, dOutOff, qCount, 4, "dOut");
        float* pdq = (float*) at(dq, dqOff, qCount, 4, "dq");
        float* pdk = (float*) at(dk, dkOff, kvCount, 4, "dk");
        float* pdv = (float*) at(dv, dvOff, kvCount, 4, "dv");
        float* stats = partials(12LL * tokens * heads);
        launch("attention_backward_q", 128, tokens, heads, 1, ATTENTION_BACKWARD_THREADS,
               {{&dq, dqOff, qCount, 4}, {&partialsBuf, 0, 3LL * tokens * heads, 4}}, [=] {
                   attention_backward_q(pq, qOff, pk, kOff, pv, vOff, pdo, dOutOff, pdq, dqOff, stats, tokens, heads,
                                        kvHeads, d, scale);
               });
        launch("attention_backward_kv", 128, tokens, kvHeads, 1, ATTENTION_BACKWARD_THREADS,
               {{&dk, dkOff, kvCount, 4}, {&dv, dvOff, kvCount, 4}}, [=] {
                   attention_backward_kv(pq, qOff, pk, kOff, pv, vOff, pdo, dOutOff, stats, pdk, dkOff, pdv, dvOff,
                                         tokens, heads, kvHeads, d, scale);
               });
    }

    static constexpr int SUM_OF_SQUARES_BLOCK = 4096;  // SumOfSquares.BLOCK
    static constexpr int SUM_OF_SQUARES_GROUP = 256;   // SumOfSquares.GROUP

    // The F32 block sums in the partials buffer from block `first` on (CudaDevice.sumsOfSquares puts
    // several vectors' block sums one after another), then the host's double sum of them in block order.
    double sumOfSquares(const Buf& x, long long xOff, long long n, long long first = 0) {
        if (n <= 0) {
            return 0;
        }
        long long blocks = (n + SUM_OF_SQUARES_BLOCK - 1) / SUM_OF_SQUARES_BLOCK;
        const float* px = (const float*) at(x, xOff, n, 4, "x");
        float* part = partials(4LL * (first + blocks));
        launch("sum_of_squares", SUM_OF_SQUARES_GROUP, blocks, 1, 1, SUM_OF_SQUARES_GROUP,
               {{&partialsBuf, first, blocks, 4}}, [=] { sum_of_squares(px, xOff, n, part, first); });
        double sum = 0;
        for (long long b = 0; b < blocks; b++) {
            sum += part[first + b];
        }
        return sum;
    }

    // AdamWStep's scalars, as the Java record holds them.
    struct AdamWStep {
        float decay, lerpWeight, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize;
        bool smallLerp() const { return std::fabs(lerpWeight) < 0.5f; }
        float lerpCoefficient() const { return smallLerp() ? lerpWeight : lerpWeight - 1.f; }
    };

    // SgdStep; without momentum the gradient stands in for the untouched buffer, as CudaDevice passes it.
    void sgd(const Buf& param, long long pOff, const Buf& grad, long long gOff, const Buf* buf, long long bOff,
             long long n, bool first, float momentum, float wd, float negLr) {
        if (n <= 0) {
            return;
        }
        float* pp = (float*) at(param, pOff, n, 4, "param");
        const float* pg = (const float*) at(grad, gOff, n, 4, "grad");
        float* pb = buf ? (float*) at(*buf, bOff, n, 4, "momentum") : (float*) pg;
        long long bo = buf ? bOff : gOff;
        int has = momentum != 0.f ? 1 : 0, fst = first ? 1 : 0;
        std::vector<Region> written{{&param, pOff, n, 4}};
        if (buf) {
            written.push_back({buf, bOff, n, 4});
        }
        launch("sgd", 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK, written,
               [=] { ::sgd(pp, pOff, pg, gOff, pb, bo, n, has, fst, momentum, wd, negLr); });
    }

    void adamW(const Buf& param, long long pOff, const Buf& grad, long long gOff, const Buf& m, long long mOff,
               const Buf& v, long long vOff, long long n, const AdamWStep& s) {
        if (n <= 0) {
            return;
        }
        float* pp = (float*) at(param, pOff, n, 4, "param");
        const float* pg = (const float*) at(grad, gOff, n, 4, "grad");
        float* pm = (float*) at(m, mOff, n, 4, "m");
        float* pv = (float*) at(v, vOff, n, 4, "v");
        float coeff = s.lerpCoefficient();
        int small = s.smallLerp() ? 1 : 0;
        launch("adamw", 0, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK,
               {{&param, pOff, n, 4}, {&m, mOff, n, 4}, {&v, vOff, n, 4}}, [=] {
                   adamw(pp, pOff, pg, gOff, pm, mOff, pv, vOff, n, s.decay, coeff, small, s.beta2, s.oneMinusBeta2,
                         s.bc2Sqrt, s.eps, s.negStepSize);
               });
    }
};

// ---- Inputs and checks ----

std::mt19937_64 g_rng(20261126);
const int PAD = 3;

std::vector<float> gaussian(size_t n, float scale = 1.f) {
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> v(n);
    for (float& x : v) {
        x = nd(g_rng) * scale;
    }
    return v;
}

// A device operand as DeviceContract's host(): pad NaNs (pad elements), the values, one NaN. The
// stored values are returned widened (exactly) in `stored` for the reference.
Buf& operand(Bufs& bufs, DType type, const std::vector<float>& v, std::vector<double>* stored = nullptr,
             int pad = PAD) {
    size_t n = v.size() + pad + 1;
    Buf& b = bufs.add(n * byteSize(type));
    if (stored) {
        stored->resize(v.size());
    }
    for (size_t i = 0; i < n; i++) {
        bool isPad = (int) i < pad || i == v.size() + pad;
        float x = isPad ? NAN : v[i - pad];
        if (type == F32) {
            ((float*) b.base)[i] = x;
        } else if (type == BF16) {
            ((unsigned short*) b.base)[i] = toBf16(x);
        } else {
            ((unsigned short*) b.base)[i] = toF16(x);
        }
        if (!isPad && stored) {
            unsigned short h = type == BF16 ? toBf16(x) : toF16(x);
            (*stored)[i - pad] = type == F32 ? (double) x : type == BF16 ? widenBf16(h) : widenF16(h);
        }
    }
    return b;
}

Buf& intOperand(Bufs& bufs, const std::vector<int>& v) {
    Buf& b = bufs.add(4 * (v.size() + PAD + 1));
    int* p = (int*) b.base;
    p[0] = -1;
    for (size_t i = 0; i < v.size(); i++) {
        p[PAD + i] = v[i];
    }
    return b;
}

std::vector<float> readF32(const Buf& b, long long off, size_t n) {
    std::vector<float> v(n);
    std::memcpy(v.data(), b.base + 4 * off, 4 * n);
    return v;
}

// |got - want| <= 2e-4 (max |want| + 1), as DeviceContract; returns the worst error / bound.
double assertClose(const std::vector<double>& want, const std::vector<float>& got, const std::string& what) {
    if (want.size() != got.size()) {
        throw CaseFailure(what + ": length");
    }
    double max = 0;
    for (double w : want) {
        max = std::max(max, std::fabs(w));
    }
    double bound = 2e-4 * (max + 1), worst = 0;
    for (size_t i = 0; i < want.size(); i++) {
        double err = std::fabs((double) got[i] - want[i]);
        if (!(err <= bound)) {
            char msg[256];
            std::snprintf(msg, sizeof msg, "%s: element %zu is %.9g, expected %.9g (error %.3g > %.3g)", what.c_str(), i,
                          (double) got[i], want[i], err, bound);
            throw CaseFailure(msg);
        }
        worst = std::max(worst, err / bound);
    }
    return worst;
}

// ---- Double-precision references ----

double silu(double g) { return g / (1.0 + std::exp(-g)); }

std::vector<double> rmsNormRef(const std::vector<double>& x, const std::vector<double>& g, int rows, int dim,
                               double eps) {
    std::vector<double> n(x.size());
    for (int r = 0; r < rows; r++) {
        double ss = 0;
        for (int k = 0; k < dim; k++) {
            ss += x[(size_t) r * dim + k] * x[(size_t) r * dim + k];
        }
        double inv = 1.0 / std::sqrt(ss / dim + eps);
        for (int k = 0; k < dim; k++) {
            n[(size_t) r * dim + k] = x[(size_t) r * dim + k] * inv * g[k];
        }
    }
    return n;
}

std::vector<double> matmulRef(const std::vector<double>& x, const std::vector<double>& w, size_t wRow0, int rows,
                              int out, int in) {
    std::vector<double> y((size_t) rows * out);
    for (int r = 0; r < rows; r++) {
        for (int j = 0; j < out; j++) {
            double s = 0;
            for (int k = 0; k < in; k++) {
                s += x[(size_t) r * in + k] * w[(wRow0 + j) * in + k];
            }
            y[(size_t) r * out + j] = s;
        }
    }
    return y;
}

// RoPE as the CPU backend (RopeTable): the angle in F32 exactly as transformers computes it, cos and
// sin in double; the rotation itself in double.
// inverse: the rotation by the negative angle.
void ropeRef(double* xh, int headDim, int pos, float theta, bool inverse = false) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
        float exponent = (float) (2 * i) / (float) (2 * half);
        float invFreq = 1.0f / (float) std::pow((double) theta, (double) exponent);
        float angle = (float) pos * invFreq;
        double c = (float) std::cos((double) angle), s = (float) std::sin((double) angle);
        if (inverse) {
            s = -s;
        }
        double a = xh[i], b = xh[i + half];
        xh[i] = a * c - b * s;
        xh[i + half] = b * c + a * s;
    }
}

std::vector<double> toD(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// ---- Test cases ----

struct Case {
    std::string name;
    std::function<double()> run;  // returns the worst error / bound
};
std::vector<Case> g_cases;

EmuCudaDevice g_dev;

void addCase(const std::string& name, std::function<double()> run) { g_cases.push_back({name, std::move(run)}); }

// linear / rmsNormLinear / gateUp with element offsets off (PAD = 3: odd, the scalar path; 8 with
// in % 8 == 0: the 16-byte path).
double linearCase(Variant variant, DType type, int rows, int out, int in, bool accumulate, int off) {
    Bufs bufs;
    int wRows = variant == GATE_UP ? 2 * out : out;
    std::vector<double> x, w, g, y0;
    Buf& dx = operand(bufs, F32, gaussian((size_t) rows * in), &x, off);
    Buf& dw = operand(bufs, type, gaussian((size_t) wRows * in), &w, off);
    Buf& dg = operand(bufs, type, gaussian(in), &g, off);
    Buf& dy = operand(bufs, F32, gaussian((size_t) rows * out), &y0, off);
    const float eps = 1e-6f;
    std::vector<double> want;
    if (variant == PLAIN) {
        want = matmulRef(x, w, 0, rows, out, in);
        if (accumulate) {
            for (size_t i = 0; i < want.size(); i++) {
                want[i] += y0[i];
            }
        }
        g_dev.linearFamily(PLAIN, dx, off, nullptr, 0, F32, 0.f, dw, off, type, dy, off, rows, out, in, accumulate);
    } else if (variant == RMS) {
        want = matmulRef(rmsNormRef(x, g, rows, in, eps), w, 0, rows, out, in);
        g_dev.linearFamily(RMS, dx, off, &dg, off, type, eps, dw, off, type, dy, off, rows, out, in, false);
    } else {
        std::vector<double> n = rmsNormRef(x, g, rows, in, eps);
        std::vector<double> gate = matmulRef(n, w, 0, rows, out, in), up = matmulRef(n, w, out, rows, out, in);
        want.resize(gate.size());
        for (size_t i = 0; i < want.size(); i++) {
            want[i] = silu(gate[i]) * up[i];
        }
        g_dev.linearFamily(GATE_UP, dx, off, &dg, off, type, eps, dw, off, type, dy, off, rows, out, in, false);
    }
    return assertClose(want, readF32(dy, off, (size_t) rows * out), "y");
}

// One fused QKV row split in double: q and k heads RMS-normed with their gamma and rotated to
// position pos, v heads copied.
void splitQkvRowRef(const double* row, const std::vector<double>& qn, const std::vector<double>& kn, float eps,
                    int pos, float theta, int heads, int kvHeads, int headDim, double* q, double* k, double* v) {
    for (int h = 0; h < heads + 2 * kvHeads; h++) {
        std::vector<double> x(row + (size_t) h * headDim, row + (size_t) (h + 1) * headDim);
        if (h < heads + kvHeads) {
            x = rmsNormRef(x, h < heads ? qn : kn, 1, headDim, eps);
            ropeRef(x.data(), headDim, pos, theta);
        }
        double* dst = h < heads ? q + (size_t) h * headDim
                      : h < heads + kvHeads ? k + (size_t) (h - heads) * headDim
                                            : v + (size_t) (h - heads - kvHeads) * headDim;
        std::copy(x.begin(), x.end(), dst);
    }
}

// byPosition: the cache-slot-by-position variant (CudaDevice.splitQkvAtPositions), where the last
// row's position lies past the cache and must write no k or v.
double splitQkvCase(int rows, int heads, int kvHeads, int headDim, int start, DType normType, bool byPosition = false) {
    Bufs bufs;
    int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
    std::vector<double> qkv, qn, kn;
    Buf& dqkv = operand(bufs, F32, gaussian((size_t) rows * width), &qkv);
    Buf& dqn = operand(bufs, normType, gaussian(headDim), &qn);
    Buf& dkn = operand(bufs, normType, gaussian(headDim), &kn);
    std::vector<int> pos(rows);
    for (int r = 0; r < rows; r++) {
        pos[r] = start + r;
    }
    int capacity = start + rows + 2;
    int written = rows;  // rows whose k and v land in the cache
    if (byPosition && rows > 1) {
        pos[rows - 1] = capacity;
        written = rows - 1;
    }
    Buf& dpos = intOperand(bufs, pos);
    // Caches: NaN everywhere (slots nobody writes must stay NaN).
    std::vector<float> nanCache((size_t) capacity * kvDim, NAN);
    Buf& dq = operand(bufs, F32, std::vector<float>((size_t) rows * qDim, 0.f));
    Buf& dk = operand(bufs, F32, nanCache);
    Buf& dv = operand(bufs, F32, nanCache);
    const float eps = 1e-6f, theta = 1e6f;
    long long cacheOff = PAD + (long long) start * kvDim;
    if (byPosition) {
        g_dev.splitQkv(dqkv, PAD, rows, heads, kvHeads, headDim, dqn, PAD, dkn, PAD, normType, eps, dpos, PAD, theta,
                       dq, PAD, dk, PAD, dv, PAD, 1, capacity);
    } else {
        g_dev.splitQkv(dqkv, PAD, rows, heads, kvHeads, headDim, dqn, PAD, dkn, PAD, normType, eps, dpos, PAD, theta,
                       dq, PAD, dk, cacheOff, dv, cacheOff);
    }
    std::vector<double> wq((size_t) rows * qDim), wk((size_t) rows * kvDim), wv((size_t) rows * kvDim);
    for (int r = 0; r < rows; r++) {
        splitQkvRowRef(&qkv[(size_t) r * width], qn, kn, eps, pos[r], theta, heads, kvHeads, headDim,
                       &wq[(size_t) r * qDim], &wk[(size_t) r * kvDim], &wv[(size_t) r * kvDim]);
    }
    double worst = assertClose(wq, readF32(dq, PAD, wq.size()), "q");
    wk.resize((size_t) written * kvDim);
    wv.resize((size_t) written * kvDim);
    worst = std::max(worst, assertClose(wk, readF32(dk, cacheOff, wk.size()), "k cache slots"));
    worst = std::max(worst, assertClose(wv, readF32(dv, cacheOff, wv.size()), "v cache slots"));
    if (byPosition) {  // every other slot keeps its NaN
        for (const Buf* c : {&dk, &dv}) {
            std::vector<float> all = readF32(*c, PAD, (size_t) capacity * kvDim);
            for (size_t i = 0; i < all.size(); i++) {
                bool mine = i >= (size_t) start * kvDim && i < (size_t) (start + written) * kvDim;
                if (!mine && !std::isnan(all[i])) {
                    throw CaseFailure("cache element " + std::to_string(i) + " outside the rows' slots was written");
                }
            }
        }
    }
    // Other slots: the launch checker already verified nothing outside [cacheOff, +rows*kvDim) changed.
    return worst;
}

double embeddingCase(DType type, int dim) {
    Bufs bufs;
    int vocab = 50;
    std::vector<int> ids = {3, 0, 49, 3, 17, 22, 8};
    std::vector<double> table;
    Buf& dt = operand(bufs, type, gaussian((size_t) vocab * dim), &table);
    Buf& di = intOperand(bufs, ids);
    Buf& dout = operand(bufs, F32, std::vector<float>(ids.size() * dim, 0.f));
    g_dev.embedding(dt, PAD, type, dim, di, PAD, (int) ids.size(), dout, PAD);
    std::vector<float> got = readF32(dout, PAD, ids.size() * dim);
    for (size_t r = 0; r < ids.size(); r++) {
        for (int c = 0; c < dim; c++) {
            double want = table[(size_t) ids[r] * dim + c];
            if ((double) got[r * dim + c] != want) {
                throw CaseFailure("embedding: element " + std::to_string(r * dim + c) + " is not the exact widening");
            }
        }
    }
    return 0;
}

double rmsNormCase(DType type, int rows, int dim) {
    Bufs bufs;
    std::vector<double> x, w;
    Buf& dx = operand(bufs, F32, gaussian((size_t) rows * dim), &x);
    Buf& dw = operand(bufs, type, gaussian(dim), &w);
    Buf& dy = operand(bufs, F32, std::vector<float>((size_t) rows * dim, 0.f));
    const float eps = 1e-6f;
    std::vector<double> want = rmsNormRef(x, w, rows, dim, eps);
    g_dev.rmsNorm(dx, PAD, dw, PAD, type, dy, PAD, rows, dim, eps);
    double worst = assertClose(want, readF32(dy, PAD, want.size()), "rmsNorm");
    g_dev.rmsNorm(dx, PAD, dw, PAD, type, dx, PAD, rows, dim, eps);
    return std::max(worst, assertClose(want, readF32(dx, PAD, want.size()), "rmsNorm in place"));
}

double ropeCase(int rows, int heads, int headDim) {
    Bufs bufs;
    int n = rows * heads * headDim;
    std::vector<int> pos(rows);
    std::uniform_int_distribution<int> ud(0, 39999);
    for (int& p : pos) {
        p = ud(g_rng);
    }
    std::vector<double> x;
    Buf& dx = operand(bufs, F32, gaussian(n), &x);
    Buf& dpos = intOperand(bufs, pos);
    const float theta = 1e6f;
    g_dev.rope(dx, PAD, rows, heads, headDim, dpos, PAD, theta);
    for (int r = 0; r < rows; r++) {
        for (int h = 0; h < heads; h++) {
            ropeRef(&x[((size_t) r * heads + h) * headDim], headDim, pos[r], theta);
        }
    }
    return assertClose(x, readF32(dx, PAD, n), "rope");
}

double elementwiseCase(int n) {
    Bufs bufs;
    std::vector<double> a, b;
    Buf& da = operand(bufs, F32, gaussian(n), &a);
    Buf& db = operand(bufs, F32, gaussian(n), &b);
    Buf& dout = operand(bufs, F32, std::vector<float>(n, 0.f));
    std::vector<double> sw(n), sum(n);
    for (int i = 0; i < n; i++) {
        sw[i] = silu(a[i]) * b[i];
        sum[i] = (double) ((float) a[i] + (float) b[i]);  // F32 add: exact compare
    }
    g_dev.binary("swiglu", da, PAD, db, PAD, dout, PAD, n);
    double worst = assertClose(sw, readF32(dout, PAD, n), "swiglu");
    g_dev.binary("add", da, PAD, db, PAD, dout, PAD, n);
    std::vector<float> got = readF32(dout, PAD, n);
    for (int i = 0; i < n; i++) {
        if ((double) got[i] != sum[i]) {
            throw CaseFailure("add: element " + std::to_string(i) + " differs");
        }
    }
    // Copies with both ends unaligned (PAD), both 16-byte aligned (the float4 path, with a tail
    // when n is not a multiple of 4), and only one end aligned.
    const long long offsets[3][2] = {{PAD, PAD}, {0, 0}, {0, PAD}};
    for (const auto& o : offsets) {
        const long long m = n - 3;
        g_dev.copy(db, o[0], dout, o[1], m);
        got = readF32(dout, o[1], m);
        std::vector<float> want = readF32(db, o[0], m);  // NaN pads included: compared as bits
        for (long long i = 0; i < m; i++) {
            if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
                throw CaseFailure("copy " + std::to_string(o[0]) + " -> " + std::to_string(o[1]) + ": element "
                                  + std::to_string(i) + " differs");
            }
        }
    }
    // scale: one F32 multiply, compared exactly; in place; then zero over an inner range only.
    g_dev.scale(db, PAD, -0.37f, dout, PAD, n);
    g_dev.scale(dout, PAD, 4.f, dout, PAD, n);
    g_dev.zero(dout, PAD + 5, n - 10);
    got = readF32(dout, PAD, n);
    for (int i = 0; i < n; i++) {
        float want = (i >= 5 && i < n - 5) ? 0.f : (b[i] * -0.37f) * 4.f;
        if (got[i] != want) {
            throw CaseFailure("scale/zero: element " + std::to_string(i) + " differs");
        }
    }
    // In place: out aliases a (add) and gate (swiglu).
    g_dev.binary("add", da, PAD, db, PAD, da, PAD, n);
    got = readF32(da, PAD, n);
    for (int i = 0; i < n; i++) {
        if ((double) got[i] != sum[i]) {
            throw CaseFailure("add in place: element " + std::to_string(i) + " differs");
        }
    }
    std::vector<double> sw2(n);
    for (int i = 0; i < n; i++) {
        sw2[i] = silu(sum[i]) * b[i];
    }
    g_dev.binary("swiglu", da, PAD, db, PAD, da, PAD, n);
    return std::max(worst, assertClose(sw2, readF32(da, PAD, n), "swiglu in place"));
}

double softmaxCase(int rows, int cols) {
    Bufs bufs;
    std::vector<double> x;
    Buf& dx = operand(bufs, F32, gaussian((size_t) rows * cols, 8.f), &x);
    std::vector<double> want(x.size());
    for (int r = 0; r < rows; r++) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < cols; c++) {
            m = std::max(m, x[(size_t) r * cols + c]);
        }
        for (int c = 0; c < cols; c++) {
            s += std::exp(x[(size_t) r * cols + c] - m);
        }
        for (int c = 0; c < cols; c++) {
            want[(size_t) r * cols + c] = std::exp(x[(size_t) r * cols + c] - m) / s;
        }
    }
    g_dev.softmax(dx, PAD, rows, cols);
    return assertClose(want, readF32(dx, PAD, want.size()), "softmax");
}

double argmaxCase(int rows, int cols, const std::vector<std::pair<long long, float>>& plant) {
    Bufs bufs;
    std::vector<float> v = gaussian((size_t) rows * cols);
    for (auto& p : plant) {
        v[p.first] = p.second;
    }
    Buf& dx = operand(bufs, F32, v);
    Buf& dout = intOperand(bufs, std::vector<int>(rows, 0));
    g_dev.argmax(dx, PAD, rows, cols, dout, PAD);
    for (int r = 0; r < rows; r++) {
        int best = 0;   // the first maximum; NaN loses to every number, a row of only NaN gives 0
        for (int c = 1; c < cols; c++) {
            float x = v[(size_t) r * cols + c], b = v[(size_t) r * cols + best];
            if (x > b || (std::isnan(b) && !std::isnan(x))) {
                best = c;
            }
        }
        int got = ((int*) dout.base)[PAD + r];
        if (got != best) {
            throw CaseFailure("argmax row " + std::to_string(r) + ": got " + std::to_string(got) + ", expected " +
                              std::to_string(best));
        }
    }
    return 0;
}

// Causal GQA attention in double: q [tokens, heads, headDim] at positions start.., keys and
// values [positions, kvHeads, headDim].
std::vector<double> attentionReference(const std::vector<double>& q, const std::vector<double>& kd,
                                       const std::vector<double>& vd, int tokens, int start, int heads, int kvHeads,
                                       int headDim, float scale) {
    int kvDim = kvHeads * headDim;
    int group = heads / kvHeads;
    std::vector<double> want((size_t) tokens * heads * headDim);
    std::vector<double> s(start + tokens);
    for (int t = 0; t < tokens; t++) {
        int visible = start + t + 1;
        for (int h = 0; h < heads; h++) {
            int g = h / group;
            const double* qr = &q[((size_t) t * heads + h) * headDim];
            double m = -INFINITY;
            for (int j = 0; j < visible; j++) {
                double dot = 0;
                const double* kr = &kd[(size_t) j * kvDim + (size_t) g * headDim];
                for (int d = 0; d < headDim; d++) {
                    dot += qr[d] * kr[d];
                }
                s[j] = dot * (double) scale;
                m = std::max(m, s[j]);
            }
            double sum = 0;
            for (int j = 0; j < visible; j++) {
                s[j] = std::exp(s[j] - m);
                sum += s[j];
            }
            double* o = &want[((size_t) t * heads + h) * headDim];
            for (int d = 0; d < headDim; d++) {
                double acc = 0;
                for (int j = 0; j < visible; j++) {
                    acc += s[j] * vd[(size_t) j * kvDim + (size_t) g * headDim + d];
                }
                o[d] = acc / sum;
            }
        }
    }
    return want;
}

// extraSlots > 0: the by-position variant (CudaDevice.attentionAtPositions) on a cache with that many
// slots past the keys, so decode plans splits that see no key at all.
double attentionCase(int tokens, int start, int heads, int kvHeads, int headDim, int expectSplits,
                     int extraSlots = 0) {
    Bufs bufs;
    int capacity = start + tokens + (extraSlots > 0 ? extraSlots : 3);
    int kvDim = kvHeads * headDim;
    std::vector<float> k = gaussian((size_t) capacity * kvDim), v = gaussian((size_t) capacity * kvDim);
    for (size_t i = (size_t) (start + tokens) * kvDim; i < (size_t) capacity * kvDim; i++) {
        k[i] = NAN;
        v[i] = NAN;
    }
    std::vector<double> q, kd, vd;
    Buf& dq = operand(bufs, F32, gaussian((size_t) tokens * heads * headDim), &q);
    Buf& dk = operand(bufs, F32, k, &kd);
    Buf& dv = operand(bufs, F32, v, &vd);
    Buf& dout = operand(bufs, F32, std::vector<float>((size_t) tokens * heads * headDim, 0.f));
    float scale = (float) (1 / std::sqrt((double) headDim));
    if (extraSlots > 0) {
        std::vector<int> pos(tokens);
        for (int t = 0; t < tokens; t++) {
            pos[t] = start + t;
        }
        Buf& dpos = intOperand(bufs, pos);
        g_dev.attention(dq, PAD, dk, PAD, dv, PAD, dout, PAD, tokens, start, heads, kvHeads, headDim, scale, &dpos, PAD,
                        capacity);
    } else {
        g_dev.attention(dq, PAD, dk, PAD, dv, PAD, dout, PAD, tokens, start, heads, kvHeads, headDim, scale);
    }
    if (expectSplits >= 0 && g_dev.lastSplits != expectSplits) {
        throw CaseFailure("expected " + std::to_string(expectSplits) + " splits, the plan made " +
                          std::to_string(g_dev.lastSplits));
    }
    std::vector<double> want = attentionReference(q, kd, vd, tokens, start, heads, kvHeads, headDim, scale);
    return assertClose(want, readF32(dout, PAD, want.size()), "attention");
}


// A decode step's QKV split for a batch: row i at position positions[i] of its own cache of
// slots[i] slots (a position outside them writes only q); every other cache slot keeps its NaN.
double splitQkvBatchCase(const std::vector<int>& positions, const std::vector<int>& slots, int heads, int kvHeads,
                         int headDim, DType normType) {
    Bufs bufs;
    int batch = (int) slots.size();
    int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
    std::vector<double> qkv, qn, kn;
    Buf& dqkv = operand(bufs, F32, gaussian((size_t) batch * width), &qkv);
    Buf& dqn = operand(bufs, normType, gaussian(headDim), &qn);
    Buf& dkn = operand(bufs, normType, gaussian(headDim), &kn);
    Buf& dpos = intOperand(bufs, positions);
    Buf& dq = operand(bufs, F32, std::vector<float>((size_t) batch * qDim, 0.f));
    std::vector<const Buf*> kb, vb;
    for (int i = 0; i < batch; i++) {
        std::vector<float> nanCache((size_t) slots[i] * kvDim, NAN);
        kb.push_back(&operand(bufs, F32, nanCache));
        vb.push_back(&operand(bufs, F32, nanCache));
    }
    const float eps = 1e-6f, theta = 1e6f;
    g_dev.splitQkvBatch(dqkv, PAD, heads, kvHeads, headDim, dqn, PAD, dkn, PAD, normType, eps, dpos, PAD, theta, dq,
                        PAD, kb, vb, PAD, slots);
    double worst = 0;
    std::vector<double> wq((size_t) batch * qDim);
    for (int r = 0; r < batch; r++) {
        std::vector<double> wk(kvDim), wv(kvDim);
        splitQkvRowRef(&qkv[(size_t) r * width], qn, kn, eps, positions[r], theta, heads, kvHeads, headDim,
                       &wq[(size_t) r * qDim], wk.data(), wv.data());
        bool inCache = positions[r] >= 0 && positions[r] < slots[r];
        for (int c = 0; c < 2; c++) {
            const Buf* cache = c == 0 ? kb[r] : vb[r];
            std::vector<float> all = readF32(*cache, PAD, (size_t) slots[r] * kvDim);
            for (size_t i = 0; i < all.size(); i++) {
                bool mine = inCache && i >= (size_t) positions[r] * kvDim && i < (size_t) (positions[r] + 1) * kvDim;
                if (!mine && !std::isnan(all[i])) {
                    throw CaseFailure("sequence " + std::to_string(r) + ": cache element " + std::to_string(i) +
                                      " outside its position's slot was written");
                }
            }
            if (inCache) {
                worst = std::max(worst, assertClose(c == 0 ? wk : wv,
                                                    readF32(*cache, PAD + (long long) positions[r] * kvDim, kvDim),
                                                    c == 0 ? "k slot" : "v slot"));
            }
        }
    }
    return std::max(worst, assertClose(wq, readF32(dq, PAD, wq.size()), "q"));
}

// A decode step of a batch: sequence i's one token at position starts[i], its own cache of
// slots[i] slots (NaN past the visible keys), attended in one launch.
double attentionBatchCase(const std::vector<int>& starts, const std::vector<int>& slots, int heads, int kvHeads,
                          int headDim, int expectSplits) {
    Bufs bufs;
    int batch = (int) starts.size();
    int kvDim = kvHeads * headDim;
    std::vector<double> q;
    Buf& dq = operand(bufs, F32, gaussian((size_t) batch * heads * headDim), &q);
    Buf& dout = operand(bufs, F32, std::vector<float>((size_t) batch * heads * headDim, 0.f));
    std::vector<const Buf*> kb, vb;
    std::vector<std::vector<double>> kds(batch), vds(batch);
    for (int i = 0; i < batch; i++) {
        std::vector<float> k = gaussian((size_t) slots[i] * kvDim), v = gaussian((size_t) slots[i] * kvDim);
        for (size_t j = (size_t) (starts[i] + 1) * kvDim; j < k.size(); j++) {
            k[j] = NAN;
            v[j] = NAN;
        }
        kb.push_back(&operand(bufs, F32, k, &kds[i]));
        vb.push_back(&operand(bufs, F32, v, &vds[i]));
    }
    Buf& dpos = intOperand(bufs, starts);
    float scale = (float) (1 / std::sqrt((double) headDim));
    g_dev.attentionBatch(dq, PAD, kb, vb, PAD, dout, PAD, heads, kvHeads, headDim, scale, dpos, PAD, slots);
    if (expectSplits >= 0 && g_dev.lastSplits != expectSplits) {
        throw CaseFailure("expected " + std::to_string(expectSplits) + " splits, the plan made " +
                          std::to_string(g_dev.lastSplits));
    }
    std::vector<float> got = readF32(dout, PAD, (size_t) batch * heads * headDim);
    std::vector<double> want;
    size_t row = (size_t) heads * headDim;
    for (int i = 0; i < batch; i++) {
        std::vector<double> qi(q.begin() + i * row, q.begin() + (i + 1) * row);
        std::vector<double> wi = attentionReference(qi, kds[i], vds[i], 1, starts[i], heads, kvHeads, headDim, scale);
        want.insert(want.end(), wi.begin(), wi.end());
        // The sequence's own launch (CudaDevice.attentionAtPositions) gives the same bits: its
        // result does not depend on the batch it ran in.
        Buf& alone = operand(bufs, F32, std::vector<float>(row, 0.f));
        g_dev.attention(dq, PAD + (long long) i * row, *kb[i], PAD, *vb[i], PAD, alone, PAD, 1, starts[i], heads, kvHeads,
                        headDim, scale, &dpos, PAD + i, slots[i]);
        std::vector<float> own = readF32(alone, PAD, row);
        if (std::memcmp(own.data(), &got[(size_t) i * row], row * sizeof(float)) != 0) {
            throw CaseFailure("sequence " + std::to_string(i) + ": the batched result differs in bits from its own launch");
        }
    }
    return assertClose(want, got, "attention_batch");
}

// ---- Training kernels ----

void writeF32(Buf& b, long long off, const std::vector<float>& v) { std::memcpy(b.base + 4 * off, v.data(), 4 * v.size()); }

void assertSameBits(const std::vector<float>& want, const std::vector<float>& got, const std::string& what) {
    for (size_t i = 0; i < want.size(); i++) {
        if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0) {
            char msg[256];
            std::snprintf(msg, sizeof msg, "%s: element %zu is %.9g, expected exactly %.9g", what.c_str(), i,
                          (double) got[i], (double) want[i]);
            throw CaseFailure(msg);
        }
    }
}

// matmul in one layout: C = op(A) op(B) (+ C), every operand at element offset off.
double matmulCase(bool transA, bool transB, DType type, int m, int n, int k, bool accumulate, int off) {
    Bufs bufs;
    std::vector<double> a, b, c0;
    Buf& da = operand(bufs, F32, gaussian((size_t) m * k), &a, off);
    Buf& db = operand(bufs, type, gaussian((size_t) k * n), &b, off);
    Buf& dc = operand(bufs, F32, gaussian((size_t) m * n), &c0, off);
    std::vector<double> want((size_t) m * n);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double sum = accumulate ? c0[(size_t) i * n + j] : 0.0;
            for (int p = 0; p < k; p++) {
                double av = transA ? a[(size_t) p * m + i] : a[(size_t) i * k + p];
                double bv = transB ? b[(size_t) j * k + p] : b[(size_t) p * n + j];
                sum += av * bv;
            }
            want[(size_t) i * n + j] = sum;
        }
    }
    g_dev.matmul(da, off, transA, db, off, type, transB, dc, off, m, n, k, accumulate);
    return assertClose(want, readF32(dc, off, want.size()), "C");
}

// dx (and dw) start from random values: the kernels must add. Run twice on the same inputs: the
// same bits (dw's column sums have a fixed order).
double rmsNormBackwardCase(DType type, int rows, int dim, bool withDw) {
    Bufs bufs;
    size_t n = (size_t) rows * dim;
    std::vector<double> x, w, dy, dx0, dw0;
    std::vector<float> dxInit = gaussian(n), dwInit = gaussian(dim);
    Buf& dX = operand(bufs, F32, gaussian(n), &x);
    Buf& dW = operand(bufs, type, gaussian(dim), &w);
    Buf& dDy = operand(bufs, F32, gaussian(n), &dy);
    Buf& dDx = operand(bufs, F32, dxInit, &dx0);
    Buf& dDw = operand(bufs, F32, dwInit, &dw0);
    const float eps = 1e-6f;
    std::vector<double> wantDx = dx0, wantDw = dw0;
    for (int r = 0; r < rows; r++) {
        const double* xr = &x[(size_t) r * dim];
        const double* dyr = &dy[(size_t) r * dim];
        double ss = 0, gx = 0;
        for (int j = 0; j < dim; j++) {
            ss += xr[j] * xr[j];
            gx += dyr[j] * w[j] * xr[j];
        }
        double inv = 1.0 / std::sqrt(ss / dim + eps);
        for (int j = 0; j < dim; j++) {
            wantDx[(size_t) r * dim + j] += dyr[j] * w[j] * inv - xr[j] * inv * inv * inv * gx / dim;
            wantDw[j] += dyr[j] * xr[j] * inv;
        }
    }
    const Buf* dwArg = withDw ? &dDw : nullptr;
    g_dev.rmsNormBackward(dX, PAD, dW, PAD, type, dDy, PAD, dDx, PAD, dwArg, PAD, rows, dim, eps);
    std::vector<float> gotDx = readF32(dDx, PAD, n), gotDw = readF32(dDw, PAD, dim);
    double worst = assertClose(wantDx, gotDx, "dx");
    if (withDw) {
        worst = std::max(worst, assertClose(wantDw, gotDw, "dw"));
    } else {
        assertSameBits(dwInit, gotDw, "dw (not passed)");
    }
    writeF32(dDx, PAD, dxInit);
    writeF32(dDw, PAD, dwInit);
    g_dev.rmsNormBackward(dX, PAD, dW, PAD, type, dDy, PAD, dDx, PAD, dwArg, PAD, rows, dim, eps);
    assertSameBits(gotDx, readF32(dDx, PAD, n), "dx of a second run");
    assertSameBits(gotDw, readF32(dDw, PAD, dim), "dw of a second run");
    return worst;
}

double ropeInverseCase(int rows, int heads, int headDim) {
    Bufs bufs;
    int n = rows * heads * headDim;
    std::vector<int> pos(rows);
    std::uniform_int_distribution<int> ud(0, 39999);
    for (int& p : pos) {
        p = ud(g_rng);
    }
    std::vector<double> x;
    Buf& dx = operand(bufs, F32, gaussian(n), &x);
    Buf& dpos = intOperand(bufs, pos);
    const float theta = 1e6f;
    std::vector<double> want = x;
    for (int r = 0; r < rows; r++) {
        for (int h = 0; h < heads; h++) {
            ropeRef(&want[((size_t) r * heads + h) * headDim], headDim, pos[r], theta, true);
        }
    }
    g_dev.ropeInverse(dx, PAD, rows, heads, headDim, dpos, PAD, theta);
    double worst = assertClose(want, readF32(dx, PAD, n), "ropeInverse");
    g_dev.rope(dx, PAD, rows, heads, headDim, dpos, PAD, theta);  // undoes it
    return std::max(worst, assertClose(x, readF32(dx, PAD, n), "rope after ropeInverse"));
}

// Every operand at its own offset; saturating gates (e^-g overflowing or vanishing) stay finite.
double swigluBackwardCase(int n) {
    Bufs bufs;
    std::vector<float> gv = gaussian(n, 3.f);
    const float extreme[] = {100.f, -100.f, 1e4f, -1e4f, 88.f, -88.f};
    for (int i = 0; i < n && i < 6; i++) {
        gv[(size_t) i * (n / 6 > 0 ? n / 6 : 1) % n] = extreme[i];
    }
    std::vector<double> g, up, d, dg0, du0;
    Buf& dGate = operand(bufs, F32, gv, &g, 1);
    Buf& dUpIn = operand(bufs, F32, gaussian(n), &up, 6);
    Buf& dOut = operand(bufs, F32, gaussian(n), &d, 0);
    Buf& dDg = operand(bufs, F32, gaussian(n), &dg0, 7);
    Buf& dDu = operand(bufs, F32, gaussian(n), &du0, 2);
    std::vector<double> wantDg = dg0, wantDu = du0;
    for (int i = 0; i < n; i++) {
        double s = 1.0 / (1.0 + std::exp(-g[i]));
        wantDu[i] += d[i] * g[i] * s;
        wantDg[i] += d[i] * up[i] * s * (1.0 + g[i] * (1.0 - s));
    }
    g_dev.swigluBackward(dGate, 1, dUpIn, 6, dOut, 0, dDg, 7, dDu, 2, n);
    double worst = assertClose(wantDg, readF32(dDg, 7, n), "dGate");
    return std::max(worst, assertClose(wantDu, readF32(dDu, 2, n), "dUp"));
}

// Repeated ids sum in order of i: compared bit for bit with F32 additions in that order. The rows
// of dOut have very different scales, so another order gives other bits (checked, so that this
// case can tell). Ids outside the table add nothing.
double embeddingBackwardCase(int dim) {
    Bufs bufs;
    const int vocab = 50;
    std::vector<int> ids = {3, 0, 49, 3, 17, 22, 8, 3, 49, 50, -1, 3, 0};
    const float scales[] = {1.f, 1e3f, 1e-3f, 37.f};
    std::vector<float> out = gaussian(ids.size() * dim), table = gaussian((size_t) vocab * dim);
    for (size_t i = 0; i < ids.size(); i++) {
        for (int c = 0; c < dim; c++) {
            out[i * dim + c] *= scales[i % 4];
        }
    }
    Buf& dOut = operand(bufs, F32, out);
    Buf& dt = operand(bufs, F32, table);
    Buf& di = intOperand(bufs, ids);
    g_dev.embeddingBackward(di, PAD, (int) ids.size(), dOut, PAD, dim, dt, PAD);
    std::vector<float> want = table, reversed = table;
    for (size_t i = 0; i < ids.size(); i++) {
        size_t back = ids.size() - 1 - i;
        for (int c = 0; c < dim; c++) {
            if (ids[i] >= 0 && ids[i] < vocab) {
                want[(size_t) ids[i] * dim + c] += out[i * dim + c];
            }
            if (ids[back] >= 0 && ids[back] < vocab) {
                reversed[(size_t) ids[back] * dim + c] += out[back * dim + c];
            }
        }
    }
    if (std::memcmp(want.data(), reversed.data(), 4 * want.size()) == 0) {
        throw CaseFailure("embeddingBackward case: the order of the sums does not show in these inputs");
    }
    assertSameBits(want, readF32(dt, PAD, want.size()), "dTable");
    return 0;
}

// Rows r % 3 == 1 have weight 0 (and NaN logits, unread target); some weights are negative. With
// badTarget, row 0's target lies outside the row: NaN loss, gradient weight * softmax.
double crossEntropyCase(int rows, int cols, bool badTarget = false) {
    Bufs bufs;
    std::vector<float> logits = gaussian((size_t) rows * cols, 6.f);
    std::vector<int> targets(rows);
    std::vector<float> weights(rows);
    for (int r = 0; r < rows; r++) {
        targets[r] = (int) (((long long) r * 7907 + 11) % cols);
        weights[r] = r % 3 == 1 ? 0.f : r % 5 == 4 ? -0.5f : 0.25f + r % 4;
        if (weights[r] == 0.f) {
            targets[r] = -7;
            std::fill(logits.begin() + (size_t) r * cols, logits.begin() + (size_t) (r + 1) * cols, NAN);
        }
    }
    if (badTarget) {
        weights[0] = 1.f;
        targets[0] = cols;
    }
    std::vector<double> x;
    Buf& dl = operand(bufs, F32, logits, &x);
    Buf& dt = intOperand(bufs, targets);
    Buf& dw = operand(bufs, F32, weights, nullptr, 5);
    Buf& dloss = operand(bufs, F32, gaussian(rows), nullptr, 1);
    std::vector<double> wantGrad((size_t) rows * cols, 0.0), wantLoss(rows, 0.0);
    for (int r = 0; r < rows; r++) {
        if (weights[r] == 0.f) {
            continue;
        }
        const double* xr = &x[(size_t) r * cols];
        double m = -INFINITY, sum = 0;
        for (int c = 0; c < cols; c++) {
            m = std::max(m, xr[c]);
        }
        for (int c = 0; c < cols; c++) {
            sum += std::exp(xr[c] - m);
        }
        bool valid = targets[r] >= 0 && targets[r] < cols;
        wantLoss[r] = valid ? m + std::log(sum) - xr[targets[r]] : 0.0;
        for (int c = 0; c < cols; c++) {
            wantGrad[(size_t) r * cols + c] = weights[r] * (std::exp(xr[c] - m) / sum - (c == targets[r] ? 1.0 : 0.0));
        }
    }
    g_dev.crossEntropy(dl, PAD, rows, cols, dt, PAD, dw, 5, dloss, 1);
    std::vector<float> grad = readF32(dl, PAD, wantGrad.size()), loss = readF32(dloss, 1, rows);
    for (int r = 0; r < rows; r++) {
        if (weights[r] == 0.f) {
            for (int c = 0; c < cols; c++) {
                if (grad[(size_t) r * cols + c] != 0.f) {
                    throw CaseFailure("row " + std::to_string(r) + " of weight 0: gradient not zero");
                }
            }
            if (loss[r] != 0.f) {
                throw CaseFailure("row " + std::to_string(r) + " of weight 0: loss not zero");
            }
        }
    }
    if (badTarget) {
        if (!std::isnan(loss[0])) {
            throw CaseFailure("a target outside the row should give a NaN loss");
        }
        loss[0] = 0.f;
    }
    double worst = assertClose(wantGrad, grad, "gradient");
    return std::max(worst, assertClose(wantLoss, loss, "losses"));
}

// |got - want| <= rel * scale[i] for every element.
void assertRelative(const std::vector<double>& want, const std::vector<float>& got, const std::vector<double>& scale,
                    double rel, const std::string& what) {
    for (size_t i = 0; i < want.size(); i++) {
        double err = std::fabs((double) got[i] - want[i]);
        if (!(err <= rel * scale[i])) {
            char msg[256];
            std::snprintf(msg, sizeof msg, "%s: element %zu is %.9g, expected %.9g (error %.3g > %.3g)", what.c_str(), i,
                          (double) got[i], want[i], err, rel * scale[i]);
            throw CaseFailure(msg);
        }
    }
}

// One AdamW step against a double reference (tight, relative bounds: the update is ~lr, far below
// DeviceContract's absolute tolerance), then against AdamWStep's documented F32 operations bit for bit.
double adamWCase(int n, double beta1, bool decays, long long t) {
    const double lr = 1e-3, beta2 = 0.999, epsD = 1e-8, weightDecay = 0.01;
    double bc1 = 1 - std::pow(beta1, (double) t), bc2 = 1 - std::pow(beta2, (double) t);
    EmuCudaDevice::AdamWStep st{decays ? (float) (1 - lr * weightDecay) : 1.f, (float) (1 - beta1), (float) beta2,
                                (float) (1 - beta2), (float) std::sqrt(bc2), (float) epsD, (float) -(lr / bc1)};
    std::vector<float> p = gaussian(n), g = gaussian(n), m = gaussian(n), v = gaussian(n);
    for (float& e : v) {
        e = e * e * 1e-3f;  // a second moment is non-negative
    }
    Bufs bufs;
    Buf& dp = operand(bufs, F32, p, nullptr, 1);
    Buf& dg = operand(bufs, F32, g, nullptr, PAD);
    Buf& dm = operand(bufs, F32, m, nullptr, 0);
    Buf& dv = operand(bufs, F32, v, nullptr, 6);
    g_dev.adamW(dp, 1, dg, PAD, dm, 0, dv, 6, n, st);
    std::vector<float> gotP = readF32(dp, 1, n), gotM = readF32(dm, 0, n), gotV = readF32(dv, 6, n);
    std::vector<double> wantP(n), wantM(n), wantV(n), scaleP(n), scaleM(n), scaleV(n);
    for (int i = 0; i < n; i++) {
        double decayed = (double) p[i] * st.decay;
        wantM[i] = m[i] + (double) st.lerpWeight * (g[i] - (double) m[i]);
        wantV[i] = (double) v[i] * st.beta2 + (double) st.oneMinusBeta2 * g[i] * g[i];
        double delta = (double) st.negStepSize * wantM[i] / (std::sqrt(wantV[i]) / st.bc2Sqrt + st.eps);
        wantP[i] = decayed + delta;
        scaleP[i] = std::fabs(decayed) + std::fabs(delta) + 1e-30;
        scaleM[i] = std::fabs(m[i]) + std::fabs(g[i]) + 1e-30;
        scaleV[i] = std::fabs(wantV[i]) + 1e-30;
    }
    assertRelative(wantP, gotP, scaleP, 1e-6, "param");
    assertRelative(wantM, gotM, scaleM, 1e-6, "m");
    assertRelative(wantV, gotV, scaleV, 1e-6, "v");
    // AdamWStep's arithmetic in F32 (x86-64 without -mfma: every operation rounds on its own).
    bool small = st.smallLerp();
    float coeff = st.lerpCoefficient();
    std::vector<float> specP(n), specM(n), specV(n);
    for (int i = 0; i < n; i++) {
        float pe = p[i] * st.decay;
        float me = std::fma(g[i] - m[i], coeff, small ? m[i] : g[i]);
        float ve = v[i] * st.beta2 + (st.oneMinusBeta2 * g[i]) * g[i];
        float denom = std::sqrt(ve) / st.bc2Sqrt + st.eps;
        specP[i] = pe + (st.negStepSize * me) / denom;
        specM[i] = me;
        specV[i] = ve;
    }
    assertSameBits(specP, gotP, "param (AdamWStep's F32 operations)");
    assertSameBits(specM, gotM, "m (AdamWStep's F32 operations)");
    assertSameBits(specV, gotV, "v (AdamWStep's F32 operations)");
    return 0;
}

// One SGD step against SgdStep's documented F32 operations bit for bit (fma, then a product and a
// sum for the momentum, then fma), with and without momentum, on the first step and after.
double sgdCase(int n, float momentum, float wd, bool first) {
    std::vector<float> p = gaussian(n), g = gaussian(n), b = gaussian(n);
    const float negLr = -1e-2f;
    Bufs bufs;
    Buf& dp = operand(bufs, F32, p, nullptr, 1);
    Buf& dg = operand(bufs, F32, g, nullptr, PAD);
    Buf& db = operand(bufs, F32, b, nullptr, 2);
    g_dev.sgd(dp, 1, dg, PAD, momentum != 0.f ? &db : nullptr, 2, n, first, momentum, wd, negLr);
    std::vector<float> gotP = readF32(dp, 1, n), gotB = readF32(db, 2, n), specP(n), specB(b);
    for (int i = 0; i < n; i++) {
        float d = std::fma(p[i], wd, g[i]);
        if (momentum != 0.f) {
            if (!first) {
                float prod = b[i] * momentum;
                d = prod + d;
            }
            specB[i] = d;
        }
        specP[i] = std::fma(d, negLr, p[i]);
    }
    assertSameBits(specP, gotP, "param (SgdStep's F32 operations)");
    assertSameBits(specB, gotB, momentum != 0.f ? "momentum buffer" : "untouched buffer");
    return 0;
}

// The sum of squares against a double reference, then against SumOfSquares' documented F32 order
// bit for bit (each block: thread t adds elements t, t + 256, ... then the 256 sums pairwise by
// halving strides; the host adds the block sums in double), then a rerun for the same bits.
double sumOfSquaresCase(long long n, int off) {
    std::vector<float> x = gaussian((size_t) n);
    Bufs bufs;
    Buf& dx = operand(bufs, F32, x, nullptr, off);
    double got = g_dev.sumOfSquares(dx, off, n);
    double want = 0;
    for (float v : x) {
        want += (double) v * v;
    }
    double err = std::fabs(got - want), bound = 1e-6 * want + 1e-30;
    if (!(err <= bound)) {
        char msg[256];
        std::snprintf(msg, sizeof msg, "sum of squares %.12g, expected %.12g (error %.3g > %.3g)", got, want, err, bound);
        throw CaseFailure(msg);
    }
    const int G = EmuCudaDevice::SUM_OF_SQUARES_GROUP, B = EmuCudaDevice::SUM_OF_SQUARES_BLOCK;
    double spec = 0;
    for (long long base = 0; base < n; base += B) {
        std::vector<float> sums(G, 0.f);
        for (int t = 0; t < G; t++) {
            for (int j = 0; j < B / G; j++) {
                long long i = base + (long long) j * G + t;
                if (i < n) {
                    float sq = x[i] * x[i];
                    sums[t] = sums[t] + sq;
                }
            }
        }
        for (int stride = G / 2; stride > 0; stride >>= 1) {
            for (int t = 0; t < stride; t++) {
                sums[t] = sums[t] + sums[t + stride];
            }
        }
        spec += sums[0];
    }
    if (std::memcmp(&spec, &got, sizeof got) != 0) {
        char msg[256];
        std::snprintf(msg, sizeof msg, "sum of squares %.17g, expected exactly %.17g (the documented order)", got, spec);
        throw CaseFailure(msg);
    }
    double again = g_dev.sumOfSquares(dx, off, n);
    if (std::memcmp(&again, &got, sizeof got) != 0) {
        throw CaseFailure("a second sum of squares gave other bits");
    }
    // Its block sums placed after another vector's (the launch may write only its own blocks).
    double placed = g_dev.sumOfSquares(dx, off, n, 5);
    if (std::memcmp(&placed, &got, sizeof got) != 0) {
        throw CaseFailure("block sums written from block 5 on gave other bits");
    }
    return err / bound;
}

// Attention backward against the softmax's gradient in double, written out per query row (t, h):
// p = softmax(scale q.k_j) over j <= t, dp_j = dOut.v_j, ds_j = p_j (dp_j - sum_i p_i dp_i). The
// gradients start from random values (the kernels add) and every operand has its own offset.
// Then: the first token's query rows have one visible key, so their dq must keep its initial bits
// (ds = 0 exactly, not rounding noise), and so must dk when there is one token; and a second run
// on the same inputs gives the same bits.
double attentionBackwardCase(int tokens, int heads, int kvHeads, int hd) {
    Bufs bufs;
    const int group = heads / kvHeads;
    const size_t qn = (size_t) tokens * heads * hd, kvn = (size_t) tokens * kvHeads * hd;
    const int offQ = PAD, offK = 5, offV = 8, offO = 1, offDo = 2, offDq = 7, offDk = 4, offDv = 6;
    const float scale = (float) (1 / std::sqrt((double) hd));
    std::vector<double> q, k, v, dOut, dq0, dk0, dv0;
    Buf& bQ = operand(bufs, F32, gaussian(qn), &q, offQ);
    Buf& bK = operand(bufs, F32, gaussian(kvn), &k, offK);
    Buf& bV = operand(bufs, F32, gaussian(kvn), &v, offV);
    Buf& bDo = operand(bufs, F32, gaussian(qn), &dOut, offDo);
    std::vector<float> dqInit = gaussian(qn), dkInit = gaussian(kvn), dvInit = gaussian(kvn);
    Buf& bDq = operand(bufs, F32, dqInit, &dq0, offDq);
    Buf& bDk = operand(bufs, F32, dkInit, &dk0, offDk);
    Buf& bDv = operand(bufs, F32, dvInit, &dv0, offDv);
    std::vector<double> wantDq = dq0, wantDk = dk0, wantDv = dv0;
    std::vector<float> out(qn);
    std::vector<double> p(tokens), dp(tokens);
    for (int t = 0; t < tokens; t++) {
        for (int h = 0; h < heads; h++) {
            const int g = h / group;
            const double* qr = &q[((size_t) t * heads + h) * hd];
            const double* dor = &dOut[((size_t) t * heads + h) * hd];
            auto kvRow = [&](const std::vector<double>& x, int j) { return &x[((size_t) j * kvHeads + g) * hd]; };
            double m = -INFINITY;
            for (int j = 0; j <= t; j++) {
                double s = 0, e = 0;
                for (int d = 0; d < hd; d++) {
                    s += qr[d] * kvRow(k, j)[d];
                    e += dor[d] * kvRow(v, j)[d];
                }
                p[j] = s * scale;
                dp[j] = e;
                m = std::max(m, p[j]);
            }
            double sum = 0;
            for (int j = 0; j <= t; j++) {
                p[j] = std::exp(p[j] - m);
                sum += p[j];
            }
            double delta = 0;
            for (int j = 0; j <= t; j++) {
                p[j] /= sum;
                delta += p[j] * dp[j];
            }
            for (int j = 0; j <= t; j++) {
                const double ds = p[j] * (dp[j] - delta) * scale;
                for (int d = 0; d < hd; d++) {
                    wantDq[((size_t) t * heads + h) * hd + d] += ds * kvRow(k, j)[d];
                    wantDk[((size_t) j * kvHeads + g) * hd + d] += ds * qr[d];
                    wantDv[((size_t) j * kvHeads + g) * hd + d] += p[j] * dor[d];
                    out[((size_t) t * heads + h) * hd + d] += (float) (p[j] * kvRow(v, j)[d]);
                }
            }
        }
    }
    Buf& bOut = operand(bufs, F32, out, nullptr, offO);  // the forward's output (the kernels need not read it)
    auto run = [&] {
        g_dev.attentionBackward(bQ, offQ, bK, offK, bV, offV, bOut, offO, bDo, offDo, bDq, offDq, bDk, offDk, bDv, offDv,
                                tokens, heads, kvHeads, hd, scale);
    };
    run();
    std::vector<float> gotDq = readF32(bDq, offDq, qn), gotDk = readF32(bDk, offDk, kvn), gotDv = readF32(bDv, offDv, kvn);
    double worst = assertClose(wantDq, gotDq, "dq");
    worst = std::max(worst, assertClose(wantDk, gotDk, "dk"));
    worst = std::max(worst, assertClose(wantDv, gotDv, "dv"));
    // Token 0's rows: [0, heads * hd) of dq.
    assertSameBits(std::vector<float>(dqInit.begin(), dqInit.begin() + (size_t) heads * hd),
                   std::vector<float>(gotDq.begin(), gotDq.begin() + (size_t) heads * hd), "dq of the first token");
    if (tokens == 1) {  // pass 2 recomputes that row's ds, which must be 0 exactly there too
        assertSameBits(dkInit, gotDk, "dk of a single token");
    }
    writeF32(bDq, offDq, dqInit);
    writeF32(bDk, offDk, dkInit);
    writeF32(bDv, offDv, dvInit);
    run();
    assertSameBits(gotDq, readF32(bDq, offDq, qn), "dq of a second run");
    assertSameBits(gotDk, readF32(bDk, offDk, kvn), "dk of a second run");
    assertSameBits(gotDv, readF32(bDv, offDv, kvn), "dv of a second run");
    return worst;
}

void buildCases() {
    const DType types[] = {F32, BF16, F16};
    const char* vname[] = {"linear", "rmsNormLinear", "rmsNormGateUpSwiglu"};
    // Linear family: GEMV rows 1, 3, 8; GEMM rows 9, 37, 70; every weight type; odd offsets (scalar
    // path) and 16-byte-aligned offsets with in % 8 == 0 (vector path; GEMM has no vector path but
    // runs the same shapes).
    struct Shape {
        int rows, out, in;
    };
    const Shape shapes[] = {{1, 64, 128}, {3, 130, 96}, {8, 257, 264}, {9, 65, 200}, {37, 200, 160}, {70, 96, 72},
                            {1, 40, 257}, {8, 33, 100}, {70, 130, 33}, {12, 40, 264}, {129, 96, 64}, {5, 64, 1024}};
    for (int variant = 0; variant < 3; variant++) {
        for (DType t : types) {
            for (const Shape& s : shapes) {
                for (int off : {PAD, 8}) {
                    std::vector<bool> accs = variant == PLAIN ? std::vector<bool>{false, true} : std::vector<bool>{false};
                    for (bool acc : accs) {
                        char name[160];
                        std::snprintf(name, sizeof name, "%s %s rows=%d out=%d in=%d off=%d acc=%d", vname[variant],
                                      dtypeName(t), s.rows, s.out, s.in, off, (int) acc);
                        Variant v = (Variant) variant;
                        addCase(name, [=] { return linearCase(v, t, s.rows, s.out, s.in, acc, off); });
                    }
                }
            }
        }
    }
    // The same family on the tensor-core GEMM (Hopper, BF16 weights): GEMM row counts around the
    // 64-row tile and its 16-row MMA tiles, widths around the 8-column MMA tiles, k around the
    // 32-wide shared slices and the 16-wide MMA steps.
    const Shape tcShapes[] = {{9, 65, 200}, {16, 8, 16}, {37, 200, 160}, {64, 64, 32}, {70, 130, 33},
                              {129, 96, 64}, {17, 24, 40}, {65, 72, 1024}};
    for (int variant = 0; variant < 3; variant++) {
        for (const Shape& s : tcShapes) {
            for (int off : {PAD, 8}) {
                std::vector<bool> accs = variant == PLAIN ? std::vector<bool>{false, true} : std::vector<bool>{false};
                for (bool acc : accs) {
                    char name[160];
                    std::snprintf(name, sizeof name, "%s tensor cores bf16 rows=%d out=%d in=%d off=%d acc=%d",
                                  vname[variant], s.rows, s.out, s.in, off, (int) acc);
                    Variant v = (Variant) variant;
                    addCase(name, [=] {
                        g_dev.tensorCores = true;
                        struct Restore {
                            ~Restore() { g_dev.tensorCores = false; }
                        } restore;
                        return linearCase(v, BF16, s.rows, s.out, s.in, acc, off);
                    });
                }
            }
        }
    }
    // splitQkv (DeviceContract's shapes), each norm type.
    const int sq[][5] = {{1, 4, 2, 64, 9}, {7, 4, 2, 128, 0}, {5, 16, 8, 128, 1000}, {3, 2, 2, 32, 3}, {2, 8, 1, 256, 40000}};
    for (auto& c : sq) {
        for (DType t : types) {
            char name[128];
            std::snprintf(name, sizeof name, "splitQkv rows=%d heads=%d/%d headDim=%d start=%d norm=%s", c[0], c[1],
                          c[2], c[3], c[4], dtypeName(t));
            addCase(name, [=] { return splitQkvCase(c[0], c[1], c[2], c[3], c[4], t); });
            std::snprintf(name, sizeof name, "splitQkv by position rows=%d heads=%d/%d headDim=%d start=%d norm=%s",
                          c[0], c[1], c[2], c[3], c[4], dtypeName(t));
            addCase(name, [=] { return splitQkvCase(c[0], c[1], c[2], c[3], c[4], t, true); });
        }
    }
    // Batched decode splits: caches of different sizes, one position past its cache.
    for (DType t : types) {
        addCase(std::string("splitQkv batch 4 seqs heads=16/8 headDim=128 norm=") + dtypeName(t),
                [=] { return splitQkvBatchCase({0, 57, 9, 300}, {64, 58, 9, 512}, 16, 8, 128, t); });
    }
    addCase("splitQkv batch 2 seqs heads=4/1 headDim=32 norm=F32",
            [] { return splitQkvBatchCase({3, 1}, {8, 2}, 4, 1, 32, F32); });
    for (auto [t, dim] : std::vector<std::pair<DType, int>>{{BF16, 64}, {F16, 100}, {F32, 1024}, {BF16, 300}}) {
        addCase(std::string("embedding ") + dtypeName(t) + " dim=" + std::to_string(dim),
                [=] { return embeddingCase(t, dim); });
    }
    for (auto [t, rows, dim] :
         std::vector<std::tuple<DType, int, int>>{{BF16, 1, 1024}, {F32, 7, 128}, {F16, 6, 2560}, {BF16, 30, 64}, {F32, 3, 33}}) {
        addCase(std::string("rmsNorm ") + dtypeName(t) + " rows=" + std::to_string(rows) + " dim=" + std::to_string(dim),
                [=] { return rmsNormCase(t, rows, dim); });
    }
    for (auto [rows, heads, hd] : std::vector<std::tuple<int, int, int>>{{1, 16, 128}, {9, 8, 64}, {4, 2, 32}, {2, 3, 512}}) {
        addCase("rope rows=" + std::to_string(rows) + " heads=" + std::to_string(heads) + " headDim=" + std::to_string(hd),
                [=] { return ropeCase(rows, heads, hd); });
    }
    addCase("swiglu/add/copy n=10007", [] { return elementwiseCase(10007); });
    addCase("swiglu/add/copy n=5", [] { return elementwiseCase(5); });
    for (auto [rows, cols] : std::vector<std::pair<int, int>>{{1, 151936}, {5, 1000}, {64, 33}, {2, 7}}) {
        addCase("softmax rows=" + std::to_string(rows) + " cols=" + std::to_string(cols),
                [=] { return softmaxCase(rows, cols); });
    }
    {
        int cols = 151936;
        std::vector<std::pair<long long, float>> plant = {
            {5, 100.f},                                      // row 0: a clear winner
            {(long long) cols + cols - 1, 100.f},            // row 1: the last column
            {2LL * cols + 7, 50.f}, {2LL * cols + 90000, 50.f},  // row 2: a tie across threads, the first wins
            {3LL * cols, 9.f},                               // row 3: the first column
            {4LL * cols + 1024 + 3, 60.f}, {4LL * cols + 3, 60.f}, {4LL * cols + 2048 + 3, 60.f},  // row 4: same thread
            {5LL * cols + 40, 70.f}, {5LL * cols + 33, 70.f},  // row 5: tie within one warp, different lanes
            {6LL * cols + 700, 80.f}, {6LL * cols + 100, 80.f}};  // row 6: tie across warps
        addCase("argmax rows=7 cols=151936 (ties)", [=] { return argmaxCase(7, cols, plant); });
        addCase("argmax rows=3 cols=5", [] { return argmaxCase(3, 5, {{1, 9.f}, {3, 9.f}, {5 + 4, 9.f}}); });
        addCase("argmax rows=2 cols=1", [] { return argmaxCase(2, 1, {}); });
        std::vector<std::pair<long long, float>> equal;
        for (int c = 0; c < 3000; c++) {
            equal.push_back({c, 1.f});
        }
        addCase("argmax rows=1 cols=3000 all equal", [=] { return argmaxCase(1, 3000, equal); });
        const float nan = std::numeric_limits<float>::quiet_NaN();
        addCase("argmax rows=1 cols=3000 NaN before the maximum",
                [=] { return argmaxCase(1, 3000, {{0, nan}, {8, nan}, {24, 50.f}, {2999, nan}}); });
        std::vector<std::pair<long long, float>> nans;
        for (int c = 0; c < 3000; c++) {
            nans.push_back({c, nan});
        }
        addCase("argmax rows=1 cols=3000 only NaN", [=] { return argmaxCase(1, 3000, nans); });
    }
    // Attention prefill: tokens 5, 40, 130; startPos 0 and 33; GQA groups 1, 2, 4; headDim 64, 128.
    for (int tokens : {5, 40, 130}) {
        for (int start : {0, 33}) {
            for (int group : {1, 2, 4}) {
                for (int hd : {64, 128}) {
                    int kvHeads = 2, heads = group * kvHeads;
                    char name[128];
                    std::snprintf(name, sizeof name, "attention prefill tokens=%d start=%d heads=%d/%d headDim=%d", tokens,
                                  start, heads, kvHeads, hd);
                    addCase(name, [=] { return attentionCase(tokens, start, heads, kvHeads, hd, 1); });
                }
            }
        }
    }
    // Attention decode: one token; keys > 128 take the split-KV + merge path.
    for (int start : {0, 1, 127, 128, 300, 2047}) {
        for (int group : {1, 2, 4, 8}) {
            for (int hd : {64, 128}) {
                int kvHeads = 2, heads = group * kvHeads;
                int keys = start + 1;
                int splits = 1;
                if (keys > 128) {
                    int wanted = std::min(64, ceilDivI(keys, 128));
                    int per = ceilDivI(ceilDivI(keys, wanted), 32) * 32;
                    splits = ceilDivI(keys, per);
                }
                char name[128];
                std::snprintf(name, sizeof name, "attention decode start=%d heads=%d/%d headDim=%d (splits %d)", start,
                              heads, kvHeads, hd, splits);
                addCase(name, [=] { return attentionCase(1, start, heads, kvHeads, hd, -1); });
            }
        }
    }
    addCase("attention decode start=9000 heads=8/1 headDim=128", [] { return attentionCase(1, 9000, 8, 1, 128, 57); });
    // Batched decode: caches of different lengths and sizes, one sequence at position 0, a split
    // plan made for the largest cache (whose splits past a short sequence's keys see nothing).
    addCase("attention batch 3 seqs heads=16/8 headDim=128 (1 split)",
            [] { return attentionBatchCase({5, 0, 60}, {64, 9, 100}, 16, 8, 128, 1); });
    addCase("attention batch 4 seqs heads=12/4 headDim=64 (splits)",
            [] { return attentionBatchCase({700, 3, 129, 1023}, {800, 40, 130, 1100}, 12, 4, 64, -1); });
    addCase("attention batch 2 seqs heads=32/2 headDim=32 (2 row blocks each)",
            [] { return attentionBatchCase({300, 17}, {301, 400}, 32, 2, 32, -1); });
    addCase("attention batch 8 seqs heads=8/8 headDim=96",
            [] { return attentionBatchCase({1, 2, 3, 150, 151, 152, 4, 260}, {300, 300, 300, 300, 300, 300, 300, 300},
                                           8, 8, 96, -1); });
    addCase("attention decode start=2047 heads=16/8 headDim=128", [] { return attentionCase(1, 2047, 16, 8, 128, 16); });
    addCase("attention prefill tokens=17 start=33 heads=4/4 headDim=128",
            [] { return attentionCase(17, 33, 4, 4, 128, 1); });
    addCase("attention prefill tokens=64 start=500 heads=16/8 headDim=128",
            [] { return attentionCase(64, 500, 16, 8, 128, 1); });
    addCase("attention prefill tokens=3 start=0 heads=12/4 headDim=32", [] { return attentionCase(3, 0, 12, 4, 32, 1); });
    addCase("attention decode start=200 heads=6/2 headDim=96", [] { return attentionCase(1, 200, 6, 2, 96, -1); });
    // Groups wider than a block's 16 query rows: several row blocks per KV head.
    addCase("attention decode start=300 heads=32/1 headDim=128", [] { return attentionCase(1, 300, 32, 1, 128, 3); });
    addCase("attention prefill tokens=5 start=7 heads=40/2 headDim=64", [] { return attentionCase(5, 7, 40, 2, 64, 1); });
    // Qwen3-14B's group of 5 query heads per KV head, in decode and prefill.
    addCase("attention decode start=300 heads=40/8 headDim=128", [] { return attentionCase(1, 300, 40, 8, 128, -1); });
    addCase("attention prefill tokens=17 start=33 heads=10/2 headDim=64", [] { return attentionCase(17, 33, 10, 2, 64, 1); });
    // By position, planned for the cache's slots: decode with splits past the last key (some
    // splits see no key), decode without splits, and prefill.
    addCase("attention by position decode start=300 slots=1001 heads=16/8 headDim=128",
            [] { return attentionCase(1, 300, 16, 8, 128, 8, 700); });
    addCase("attention by position decode start=0 slots=2049 heads=4/2 headDim=64",
            [] { return attentionCase(1, 0, 4, 2, 64, 17, 2048); });
    addCase("attention by position decode start=20 slots=100 heads=6/2 headDim=96",
            [] { return attentionCase(1, 20, 6, 2, 96, 1, 79); });
    addCase("attention by position prefill tokens=17 start=33 slots=150 heads=8/2 headDim=128",
            [] { return attentionCase(17, 33, 8, 2, 128, 1, 100); });
    // ---- Training ----
    // matmul: every layout and B type; odd sizes, tiles cut at every edge, k = 0 and k = 1;
    // offsets 0 (aligned) and PAD; accumulate on and off. (false, true) goes through linear.
    {
        struct MM {
            int m, n, k;
        };
        const MM mm[] = {{7, 96, 130}, {70, 33, 200}, {1, 257, 64}, {65, 130, 33}, {3, 5, 1}, {129, 70, 97}, {4, 6, 0}};
        int idx = 0;
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                for (DType t : types) {
                    for (const MM& s : mm) {
                        bool acc = idx % 2 == 0;
                        int off = idx % 3 == 0 ? 0 : PAD;
                        idx++;
                        char name[160];
                        std::snprintf(name, sizeof name, "matmul transA=%d transB=%d %s m=%d n=%d k=%d acc=%d off=%d", ta,
                                      tb, dtypeName(t), s.m, s.n, s.k, (int) acc, off);
                        addCase(name, [=] { return matmulCase(ta, tb, t, s.m, s.n, s.k, acc, off); });
                    }
                }
            }
        }
    }
    for (auto [t, rows, dim, withDw] : std::vector<std::tuple<DType, int, int, bool>>{
             {BF16, 1, 1024, true}, {F32, 7, 128, true}, {F16, 64, 2560, false}, {BF16, 300, 64, true},
             {F32, 33, 100, true}, {F16, 5, 33, false}, {F16, 40, 257, true}, {F32, 2, 1500, false}}) {
        addCase(std::string("rmsNormBackward ") + dtypeName(t) + " rows=" + std::to_string(rows) +
                    " dim=" + std::to_string(dim) + " dw=" + std::to_string((int) withDw),
                [=] { return rmsNormBackwardCase(t, rows, dim, withDw); });
    }
    for (auto [rows, heads, hd] : std::vector<std::tuple<int, int, int>>{{1, 16, 128}, {9, 8, 64}, {4, 2, 32}, {2, 3, 512}}) {
        addCase("ropeInverse rows=" + std::to_string(rows) + " heads=" + std::to_string(heads) +
                    " headDim=" + std::to_string(hd),
                [=] { return ropeInverseCase(rows, heads, hd); });
    }
    for (int n : {10007, 5, 300}) {
        addCase("swigluBackward n=" + std::to_string(n), [=] { return swigluBackwardCase(n); });
    }
    for (int dim : {64, 100, 1024, 300, 33}) {
        addCase("embeddingBackward dim=" + std::to_string(dim) + " (repeated ids, bit-exact order)",
                [=] { return embeddingBackwardCase(dim); });
    }
    for (auto [rows, cols] : std::vector<std::pair<int, int>>{{5, 1000}, {2, 151936}, {33, 64}, {7, 3}, {2, 1}}) {
        addCase("crossEntropy rows=" + std::to_string(rows) + " cols=" + std::to_string(cols),
                [=] { return crossEntropyCase(rows, cols); });
    }
    addCase("crossEntropy rows=4 cols=777 target outside the row", [] { return crossEntropyCase(4, 777, true); });
    // attentionBackward: tokens 1 (one key), 2, 5, 40, 130 and 333 (eleven key tiles in pass 1, 21
    // row tiles in pass 2 with a group of 2); groups 1, 2, 5; headDim 32, 64, 128 and 33 (not a
    // multiple of the dot's four chains).
    for (auto [tokens, heads, kvHeads, hd] : std::vector<std::tuple<int, int, int, int>>{
             {1, 4, 4, 64}, {1, 10, 2, 64}, {2, 2, 1, 32}, {5, 4, 2, 64}, {5, 10, 2, 128}, {40, 10, 2, 128}, {40, 2, 2, 33},
             {130, 4, 2, 64}, {130, 5, 1, 32}, {333, 2, 1, 32}}) {
        char name[128];
        std::snprintf(name, sizeof name, "attentionBackward tokens=%d heads=%d/%d headDim=%d", tokens, heads, kvHeads, hd);
        addCase(name, [=] { return attentionBackwardCase(tokens, heads, kvHeads, hd); });
    }
    for (auto [n, beta1, decays, t] : std::vector<std::tuple<int, double, bool, long long>>{
             {10007, 0.9, true, 1}, {10007, 0.9, false, 7}, {10007, 0.3, true, 3}, {5, 0.9, true, 1000}}) {
        char name[128];
        std::snprintf(name, sizeof name, "adamW n=%d beta1=%g decays=%d step=%lld", n, beta1, (int) decays, t);
        addCase(name, [=] { return adamWCase(n, beta1, decays, t); });
    }
    for (auto [n, momentum, wd, first] : std::vector<std::tuple<int, float, float, bool>>{
             {10007, 0.f, 0.f, true}, {10007, 0.f, 0.01f, false}, {10007, 0.9f, 0.01f, true}, {37, 0.9f, 0.f, false}}) {
        char name[128];
        std::snprintf(name, sizeof name, "sgd n=%d momentum=%g wd=%g first=%d", n, momentum, wd, (int) first);
        addCase(name, [=] { return sgdCase(n, momentum, wd, first); });
    }
    for (auto [n, off] : std::vector<std::pair<long long, int>>{{1, 0}, {255, 3}, {4096, 1}, {10007, 3}, {70001, 5}}) {
        char name[128];
        std::snprintf(name, sizeof name, "sumOfSquares n=%lld off=%d", n, off);
        addCase(name, [=] { return sumOfSquaresCase(n, off); });
    }
}

const char* schedName(emu::Sched s) { return s == emu::FIFO ? "fifo" : s == emu::LIFO ? "lifo" : "random"; }

void onSignal(int sig) {
    char msg[256];
    int n = std::snprintf(msg, sizeof msg,
                          "\nEMU FAILURE: signal %d (%s) in kernel %s, block (%u,%u,%u): an out-of-bounds or misaligned "
                          "access, or a failed check\n",
                          sig, sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGABRT ? "SIGABRT" : "?",
                          emu::g_kernel, emu::g_blockIdx.x, emu::g_blockIdx.y, emu::g_blockIdx.z);
    ssize_t ignored = write(2, msg, (size_t) n);
    (void) ignored;
    _exit(4);
}

}  // namespace

int main(int argc, char** argv) {
    static char altStack[1 << 16];
    stack_t ss{};
    ss.ss_sp = altStack;
    ss.ss_size = sizeof altStack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_handler = onSignal;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
    sigaction(SIGABRT, &sa, nullptr);

    const char* filter = argc > 1 ? argv[1] : nullptr;
    if (const char* seed = std::getenv("EMU_SEED")) {
        emu::g_seed = std::strtoull(seed, nullptr, 10);
    }
    std::vector<emu::Sched> schedules = {emu::FIFO, emu::LIFO, emu::RANDOM};
    if (const char* sch = std::getenv("EMU_SCHED")) {
        std::string v = sch;
        if (v == "fifo") {
            schedules = {emu::FIFO};
        } else if (v == "lifo") {
            schedules = {emu::LIFO};
        } else if (v == "random") {
            schedules = {emu::RANDOM};
        } else if (v != "all") {
            std::fprintf(stderr, "EMU_SCHED must be fifo, lifo, random or all\n");
            return 2;
        }
    }
    buildCases();
    int run = 0, failed = 0;
    for (Case& c : g_cases) {
        if (filter && c.name.find(filter) == std::string::npos) {
            continue;
        }
        run++;
        g_caseKernels.clear();
        double worst = 0;
        std::string error;
        // Each case once per scheduling order (the inputs are drawn afresh each time).
        for (emu::Sched sched : schedules) {
            emu::g_sched = sched;
            try {
                worst = std::max(worst, c.run());
            } catch (const CaseFailure& e) {
                error = std::string("[") + schedName(sched) + " schedule] " + e.what();
                break;
            }
        }
        for (const std::string& k : g_caseKernels) {
            KernelStats& s = g_stats[k];
            s.cases++;
            s.worst = std::max(s.worst, worst);
            if (!error.empty()) {
                s.failed++;
            }
        }
        if (!error.empty()) {
            failed++;
            g_failures.push_back(c.name + ": " + error);
            std::printf("FAIL  %s\n      %s\n", c.name.c_str(), error.c_str());
        } else if (std::getenv("EMU_VERBOSE")) {
            std::printf("ok    %s (worst error %.3f of the bound)\n", c.name.c_str(), worst);
        }
        std::fflush(stdout);
    }
    std::printf("\nPer kernel (cases that launched it; worst error as a fraction of the 2e-4 (max|want|+1) bound):\n");
    for (auto& [name, s] : g_stats) {
        std::printf("  %-22s %s  %3d cases, %4d launches, %d failed, worst %.3f\n", name.c_str(),
                    s.failed ? "FAIL" : "ok  ", s.cases, s.launches, s.failed, s.worst);
    }
    // Every entry point of the .cu (Kernel.java's list) must have run, unless a filter was given.
    const char* all[] = {"linear_gemv_f32", "linear_gemv_bf16", "linear_gemv_f16", "rms_linear_gemv_f32",
                         "rms_linear_gemv_bf16", "rms_linear_gemv_f16", "gate_up_gemv_f32", "gate_up_gemv_bf16",
                         "gate_up_gemv_f16", "linear_gemm_f32", "linear_gemm_bf16", "linear_gemm_f16",
                         "rms_linear_gemm_f32", "rms_linear_gemm_bf16", "rms_linear_gemm_f16", "gate_up_gemm_f32",
                         "gate_up_gemm_bf16", "gate_up_gemm_f16", "linear_tc_bf16", "rms_linear_tc_bf16",
                         "gate_up_tc_bf16", "rms_norm", "rope", "split_qkv", "embedding_f32",
                         "embedding_bf16", "embedding_f16", "swiglu", "add", "scale", "zero_f32", "copy_f32", "softmax_rows", "argmax_rows",
                         "attention", "attention_merge", "matmul_f32", "matmul_bf16", "matmul_f16",
                         "rms_norm_backward", "rms_norm_backward_dw", "rope_inverse", "swiglu_backward",
                         "embedding_backward", "cross_entropy", "attention_backward_q",
                         "attention_backward_kv", "adamw", "sgd", "sum_of_squares"};
    int missing = 0;
    if (!filter) {
        for (const char* k : all) {
            if (!g_stats.count(k)) {
                std::printf("  %-22s NOT RUN\n", k);
                missing++;
            }
        }
    }
    std::printf("\n%d cases, %d failed%s\n", run, failed, missing ? ", some kernels never ran" : "");
    return failed || missing || run == 0 ? 1 : 0;
}
