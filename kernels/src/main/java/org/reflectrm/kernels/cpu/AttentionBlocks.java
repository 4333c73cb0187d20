package org.reflectrm.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
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
 * <p><b>Determinism.</b> Every element of a product is one in-order FMA chain (the k of the score
 * products, head_dim, fits one panel), softmax sums use {@link Lanes#sum}, and the exponential is
 * {@link Lanes#exp} for vector bodies and scalar tails alike; the split into tasks is fixed by the
 * shape, so results do not depend on the thread count, and the backward's recomputed
 * probabilities equal the forward-pass ones bit for bit.
 */
final class AttentionBlocks {
    /** Query tokens per block and keys per key block. */
    static final int BLOCK = 64;

    private AttentionBlocks() {
    }

    /**
     * {@code dst[g][r, :] = src[r, g, :]}: rows of {@code parts} slices of {@code width} floats
     * each ({@code [rows, parts, width]}, from element {@code srcOff}) regrouped slice-major,
     * {@code [parts][rows, width]}. Split over the team by rows: it is only a copy.
     */
    static void headMajor(Parallel parallel, MemorySegment src, long srcOff, int rows, int parts, int width,
                          float[] dst) {
        parallel.forRange(rows, 1, (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int g = 0; g < parts; g++) {
                    long at = (srcOff + ((long) r * parts + g) * width) * 4;
                    MemorySegment.copy(src, JAVA_FLOAT_UNALIGNED, at, dst, (g * rows + r) * width, width);
                }
            }
        });
    }

    /** Row r of a block sees its first {@code min(n, first + r / group)} of n keys. */
    static int visible(int r, int first, int group, int n) {
        return Math.min(n, first + r / group);
    }

    /** {@code c[m, n] = a[m, k] · b[n, k]ᵀ} (arrays from element aAt, bAt, 0). */
    static void abT(PackedGemm gemm, float[] a, int aAt, float[] b, int bAt, float[] c, int m, int n, int k) {
        gemm.serial(new Gemm(MemorySegment.ofArray(a), aAt, false, MemorySegment.ofArray(b), bAt, DType.F32, true,
                MemorySegment.ofArray(c), 0, m, n, k, false));
    }

    /** {@code c[m, n] = a[m, k] · b[k, n]}. */
    static void ab(PackedGemm gemm, float[] a, int aAt, float[] b, int bAt, float[] c, int m, int n, int k) {
        gemm.serial(new Gemm(MemorySegment.ofArray(a), aAt, false, MemorySegment.ofArray(b), bAt, DType.F32, false,
                MemorySegment.ofArray(c), 0, m, n, k, false));
    }

    /** {@code c[m, n] = a[k, m]ᵀ · b[k, n]}. */
    static void aTb(PackedGemm gemm, float[] a, int aAt, float[] b, int bAt, float[] c, int m, int n, int k) {
        gemm.serial(new Gemm(MemorySegment.ofArray(a), aAt, true, MemorySegment.ofArray(b), bAt, DType.F32, false,
                MemorySegment.ofArray(c), 0, m, n, k, false));
    }

    /**
     * Turns raw dot products {@code s[m, n]} into attention probabilities in place: row r becomes
     * {@code softmax(scale·s)} over its {@link #visible} keys and 0 beyond. When {@code max} is
     * not null, row r's statistics go to {@code max[at + r]} and {@code inv[at + r]} (the row max
     * of the scaled scores and 1/Σexp), from which {@link #probabilities} recomputes it exactly.
     */
    static void softmax(float[] s, int m, int n, int first, int group, float scale, float[] max, float[] inv, int at) {
        for (int r = 0; r < m; r++) {
            int row = r * n;
            int seen = visible(r, first, group, n);
            float mx = scaleAndMax(s, row, seen, scale);
            float in = 1f / expInPlace(s, row, seen, mx);
            multiply(s, row, seen, in);
            Arrays.fill(s, row + seen, row + n, 0f);
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
    static void probabilities(float[] s, int m, int n, int first, int group, float scale, float[] max, float[] inv,
                              int at) {
        for (int r = 0; r < m; r++) {
            int row = r * n;
            int seen = visible(r, first, group, n);
            float mx = max[at + r];
            float in = inv[at + r];
            int bound = seen - seen % L;
            int j = 0;
            for (; j < bound; j += L) {
                FloatVector x = FloatVector.fromArray(F, s, row + j).mul(scale);
                Lanes.exp(x.sub(mx)).mul(in).intoArray(s, row + j);
            }
            for (; j < seen; j++) {
                s[row + j] = exp(s[row + j] * scale - mx) * in;
            }
            Arrays.fill(s, row + seen, row + n, 0f);
        }
    }

    /**
     * Given P in {@code p[at..at+n)} and dP = dOut·v in {@code dp[at..)}: {@code dp = scale·p·(dp − delta)},
     * the gradient of the raw dot products (delta = dOut·out of the row). Masked keys have p = 0
     * and so get 0.
     */
    static void softmaxGrad(float[] p, float[] dp, int at, int n, float delta, float scale) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector pv = FloatVector.fromArray(F, p, at + i);
            pv.mul(FloatVector.fromArray(F, dp, at + i).sub(delta)).mul(scale).intoArray(dp, at + i);
        }
        for (; i < n; i++) {
            dp[at + i] = p[at + i] * (dp[at + i] - delta) * scale;
        }
    }

    /** {@code x[at..at+n) *= scale}, returning the largest result (MAX is exact, so its order does not matter). */
    static float scaleAndMax(float[] x, int at, int n, float scale) {
        int bound = n - n % L;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, at + i).mul(scale);
            v.intoArray(x, at + i);
            mv = mv.max(v);
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            x[at + i] *= scale;
            max = Math.max(max, x[at + i]);
        }
        return max;
    }

    /** Replaces {@code x[at..at+n)} by {@code exp(x − max)} and returns their sum, in a fixed order. */
    static float expInPlace(float[] x, int at, int n, float max) {
        int bound = n - n % L;
        FloatVector sv = FloatVector.zero(F);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector e = Lanes.exp(FloatVector.fromArray(F, x, at + i).sub(max));
            e.intoArray(x, at + i);
            sv = sv.add(e);
        }
        float sum = Lanes.sum(sv);
        for (; i < n; i++) {
            float e = exp(x[at + i] - max);
            x[at + i] = e;
            sum += e;
        }
        return sum;
    }

    /** {@code x[at..at+n) *= a}. */
    static void multiply(float[] x, int at, int n, float a) {
        int bound = n - n % L;
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector.fromArray(F, x, at + i).mul(a).intoArray(x, at + i);
        }
        for (; i < n; i++) {
            x[at + i] *= a;
        }
    }

    /**
     * {@link Lanes#exp} of one value: a scalar tail gets exactly what the same value gets in a
     * vector body, so recomputing a row with another alignment gives the same bits.
     */
    static float exp(float x) {
        return Lanes.exp(FloatVector.broadcast(F, x)).lane(0);
    }

    /** {@code a[at..at+n) · b[at..at+n)}, summed in a fixed order. */
    static float dot(float[] a, float[] b, int at, int n) {
        int bound = n - n % L;
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j < bound; j += L) {
            acc = FloatVector.fromArray(F, a, at + j).fma(FloatVector.fromArray(F, b, at + j), acc);
        }
        float sum = Lanes.sum(acc);
        for (; j < n; j++) {
            sum += a[at + j] * b[at + j];
        }
        return sum;
    }

    /** {@code dst[dstAt..dstAt+n) += src[srcAt..srcAt+n)}: the accumulation into a gradient. */
    static void addInto(float[] src, int srcAt, MemorySegment dst, long dstAt, int n) {
        int bound = n - n % L;
        int j = 0;
        for (; j < bound; j += L) {
            Lanes.store(Lanes.f32(dst, dstAt + j).add(FloatVector.fromArray(F, src, srcAt + j)), dst, dstAt + j);
        }
        for (; j < n; j++) {
            Lanes.setF(dst, dstAt + j, Lanes.getF(dst, dstAt + j) + src[srcAt + j]);
        }
    }
}
