package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.reflectrm.kernels.DType;

/**
 * What the blocked attention kernels ({@link CpuAttention} for many tokens, and
 * {@link CpuAttentionBackward}) share. They compute attention FlashAttention-2 style, as matrix
 * products over blocks of {@link #BLOCK} tokens, so the score and value products run in the
 * GEMM micro-kernel instead of as one dot product (and one horizontal reduction) per key.
 *
 * <p><b>Head-major layout.</b> Q, K, V arrive as {@code [tokens, heads, d]}, and a GEMM wants
 * each operand contiguous, so a call first copies them per KV head g: K and V as
 * {@code [kvHeads][keys, d]}, and the queries (likewise dOut) as {@code [kvHeads][tokens·group, d]}
 * with row {@code t·group + hh} holding query head {@code g·group + hh} of token t. A block of
 * query tokens is then one contiguous run of rows that all read the same K and V, and a single
 * product scores every head of the group at once (GQA shares the packing of K among them).
 * Rows are ordered (token, head), so row r of a block that starts at token t0 is token
 * {@code t0 + r / group}: the causal mask is {@link #visible}.
 *
 * <p>All buffers are F32 {@link MemorySegment}s from {@link Scratch}, indexed in floats.
 *
 * <p><b>Determinism.</b> {@link PackedGemm#serial} sums each element of a product in an order
 * fixed by the shape (for the score products, head_dim fits one panel, so each score is one
 * in-order FMA chain whichever keys the product covers), softmax sums use {@link Lanes#sum}, and
 * the exponential is {@link Lanes#exp} in vector bodies and scalar tails alike. The split into
 * tasks is fixed by the shape too, so results do not depend on the thread count, and the
 * backward's second pass recomputes its first pass's probabilities bit for bit.
 */
final class AttentionBlocks {
    /**
     * Query tokens per block and keys per key block: a block's GEMMs (rows = BLOCK·group) are
     * big enough to run near the micro-kernel's speed, and a sequence of a few hundred tokens
     * still makes several tasks per KV head. Also the decode path's L1 tile of cache positions
     * (64 rows of head_dim 128 are 32 KB).
     */
    static final int BLOCK = 64;

    private AttentionBlocks() {
    }

    /**
     * {@code dst[g][r, :] = src[r, g, :]} for rows r in [from, min(to, rows)): rows of
     * {@code parts} slices of {@code width} floats each ({@code [rows, parts, width]}, from element
     * {@code srcOff}) regrouped slice-major, {@code [parts][rows, width]}. Callers split the rows
     * of all their operands over the team in one go: it is only a copy.
     */
    static void headMajor(MemorySegment src, long srcOff, int rows, int parts, int width, MemorySegment dst,
                          int from, int to) {
        headMajor(src, srcOff, false, rows, parts, width, dst, from, to);
    }

    /** {@link #headMajor} from a source of BF16 (widened to F32 on the way) when {@code bf16}, else F32. */
    static void headMajor(MemorySegment src, long srcOff, boolean bf16, int rows, int parts, int width,
                          MemorySegment dst, int from, int to) {
        for (int r = from; r < Math.min(to, rows); r++) {
            for (int g = 0; g < parts; g++) {
                long at = srcOff + ((long) r * parts + g) * width;
                long dstAt = ((long) g * rows + r) * width;
                if (!bf16) {
                    MemorySegment.copy(src, at * 4, dst, dstAt * 4, (long) width * 4);
                    continue;
                }
                for (int j = 0; j < width; j++) {
                    int bits = src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at + j) << 16;
                    Lanes.setF(dst, dstAt + j, Float.intBitsToFloat(bits));
                }
            }
        }
    }

    /** Row r of a block sees its first {@code min(n, first + r / group)} of n keys. */
    static int visible(int r, int first, int group, int n) {
        return Math.min(n, first + r / group);
    }

    /** {@code c[m, n] = a[m, k] · b[n, k]ᵀ} (a, b from element aAt, bAt; c from 0). */
    static void abT(PackedGemm gemm, MemorySegment a, long aAt, MemorySegment b, long bAt, MemorySegment c,
                    int m, int n, int k) {
        gemm.serial(new Gemm(a, aAt, false, b, bAt, DType.F32, true, c, 0, m, n, k, false));
    }

    /** {@code c[m, n] = a[m, k] · b[k, n]}. */
    static void ab(PackedGemm gemm, MemorySegment a, long aAt, MemorySegment b, long bAt, MemorySegment c,
                   int m, int n, int k) {
        gemm.serial(new Gemm(a, aAt, false, b, bAt, DType.F32, false, c, 0, m, n, k, false));
    }

    /** {@code c[m, n] = a[k, m]ᵀ · b[k, n]}. */
    static void aTb(PackedGemm gemm, MemorySegment a, long aAt, MemorySegment b, long bAt, MemorySegment c,
                    int m, int n, int k) {
        gemm.serial(new Gemm(a, aAt, true, b, bAt, DType.F32, false, c, 0, m, n, k, false));
    }

    /**
     * Turns raw dot products {@code s[m, n]} into attention probabilities in place: row r becomes
     * {@code softmax(scale·s)} over its {@link #visible} keys and 0 beyond. When {@code max} is
     * not null, row r's statistics go to {@code max[at + r]} and {@code inv[at + r]} (the row max
     * of the scaled scores and 1/Σexp), from which {@link #probabilities} recomputes it exactly.
     */
    static void softmax(MemorySegment s, int m, int n, int first, int group, float scale, float[] max, float[] inv,
                        int at) {
        for (int r = 0; r < m; r++) {
            long row = (long) r * n;
            int seen = visible(r, first, group, n);
            float mx = scaleAndMax(s, row, seen, scale);
            float in = 1f / expInPlace(s, row, seen, mx);
            multiply(s, row, seen, in);
            zero(s, row + seen, n - seen);
            if (max != null) {
                max[at + r] = mx;
                inv[at + r] = in;
            }
        }
    }

    /**
     * {@link #softmax} from saved statistics: {@code s[r, j] = exp(scale·s − max[at + r])·inv[at + r]}
     * over row r's {@link #visible} keys, 0 beyond. The same operations in the same order, so
     * the same bits.
     */
    static void probabilities(MemorySegment s, int m, int n, int first, int group, float scale, float[] max,
                              float[] inv, int at) {
        for (int r = 0; r < m; r++) {
            long row = (long) r * n;
            int seen = visible(r, first, group, n);
            float mx = max[at + r];
            float in = inv[at + r];
            int bound = seen - seen % L;
            int j = 0;
            for (; j < bound; j += L) {
                FloatVector x = Lanes.f32(s, row + j).mul(scale);
                Lanes.store(Lanes.exp(x.sub(mx)).mul(in), s, row + j);
            }
            for (; j < seen; j++) {
                Lanes.setF(s, row + j, exp(Lanes.getF(s, row + j) * scale - mx) * in);
            }
            zero(s, row + seen, n - seen);
        }
    }

    /**
     * Given P in {@code p[at..at+n)} and dP = dOut·v in {@code dp[at..)}: {@code dp = scale·p·(dp − delta)},
     * the gradient of the raw dot products. Masked keys have p = 0 and so get 0.
     */
    static void softmaxGrad(MemorySegment p, MemorySegment dp, long at, int n, float delta, float scale) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector g = Lanes.f32(p, at + i).mul(Lanes.f32(dp, at + i).sub(delta)).mul(scale);
            Lanes.store(g, dp, at + i);
        }
        for (; i < n; i++) {
            Lanes.setF(dp, at + i, Lanes.getF(p, at + i) * (Lanes.getF(dp, at + i) - delta) * scale);
        }
    }

    /** {@code x[at..at+n) *= scale}, returning the largest result (MAX is exact, so its order does not matter). */
    static float scaleAndMax(MemorySegment x, long at, int n, float scale) {
        int bound = n - n % L;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v = Lanes.f32(x, at + i).mul(scale);
            Lanes.store(v, x, at + i);
            mv = mv.max(v);
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            float v = Lanes.getF(x, at + i) * scale;
            Lanes.setF(x, at + i, v);
            max = Math.max(max, v);
        }
        return max;
    }

    /** Replaces {@code x[at..at+n)} by {@code exp(x − max)} and returns their sum, in a fixed order. */
    static float expInPlace(MemorySegment x, long at, int n, float max) {
        int bound = n - n % L;
        FloatVector sv = FloatVector.zero(F);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector e = Lanes.exp(Lanes.f32(x, at + i).sub(max));
            Lanes.store(e, x, at + i);
            sv = sv.add(e);
        }
        float sum = Lanes.sum(sv);
        for (; i < n; i++) {
            float e = exp(Lanes.getF(x, at + i) - max);
            Lanes.setF(x, at + i, e);
            sum += e;
        }
        return sum;
    }

    /** {@code x[at..at+n) *= a}. */
    static void multiply(MemorySegment x, long at, int n, float a) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            Lanes.store(Lanes.f32(x, at + i).mul(a), x, at + i);
        }
        for (; i < n; i++) {
            Lanes.setF(x, at + i, Lanes.getF(x, at + i) * a);
        }
    }

    /** {@code x[at..at+n) = 0}. */
    static void zero(MemorySegment x, long at, int n) {
        x.asSlice(at * 4, (long) n * 4).fill((byte) 0);
    }

    /**
     * {@link Lanes#exp} of one value: a scalar tail gets exactly what the same value gets in a
     * vector body, so recomputing a row with another alignment gives the same bits.
     */
    static float exp(float x) {
        return Lanes.exp(FloatVector.broadcast(F, x)).lane(0);
    }

    /** {@code a[at..at+n) · b[at..at+n)}, summed in a fixed order. */
    static float dot(MemorySegment a, MemorySegment b, long at, int n) {
        int bound = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j < bound; j += L) {
            acc = Lanes.f32(a, at + j).fma(Lanes.f32(b, at + j), acc);
        }
        float sum = Lanes.sum(acc);
        for (; j < n; j++) {
            sum += Lanes.getF(a, at + j) * Lanes.getF(b, at + j);
        }
        return sum;
    }

    /** {@code dst[dstAt..dstAt+n) += src[srcAt..srcAt+n)}: the accumulation into a gradient. */
    static void addInto(MemorySegment src, long srcAt, MemorySegment dst, long dstAt, int n) {
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            Lanes.store(Lanes.f32(dst, dstAt + j).add(Lanes.f32(src, srcAt + j)), dst, dstAt + j);
        }
        for (; j < n; j++) {
            Lanes.setF(dst, dstAt + j, Lanes.getF(dst, dstAt + j) + Lanes.getF(src, srcAt + j));
        }
    }
}
