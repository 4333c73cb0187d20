package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.reflectrm.kernels.DType;

import static org.reflectrm.kernels.cpu.Lanes.L;

/**
 * Matrix products on the CPU. The hot case is a linear layer, {@code C = A · Wᵀ} with HF's
 * {@code W[out, in]} layout: every output is a dot product along contiguous memory, so the
 * kernel keeps a 4×4 block of dot products in registers, widening each weight vector once and
 * using it for four rows of A. Decode (m = 1) is the same code with one A row: it streams the
 * weights once, which is what bounds it.
 */
final class CpuMatmul {
    private static final int ROWS_A = 4;
    private static final int ROWS_W = 4;

    /** Below this many rows a linear layer is computed as dot products, without packing. */
    static final int DOT_MAX_M = 32;
    /** Below this many rows a [k, n] B is streamed row by row, without packing. */
    static final int AXPY_MAX_M = 4;

    private final Parallel parallel;
    private final PackedGemm packed;

    CpuMatmul(Parallel parallel) {
        this(parallel, PackedGemm.DEFAULT);
    }

    CpuMatmul(Parallel parallel, PackedGemm.Blocking blocking) {
        this.parallel = parallel;
        this.packed = new PackedGemm(parallel, blocking);
    }

    void matmul(MemorySegment a, long aOff, boolean transA,
                MemorySegment b, long bOff, DType bType, boolean transB,
                MemorySegment c, long cOff, int m, int n, int k, boolean accumulate) {
        Lanes.requireCompute(bType);
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k <= 0) {
            // An empty sum: C = 0, or C unchanged when accumulating.
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    c.asSlice((cOff + (long) i * n) * 4, (long) n * 4).fill((byte) 0);
                }
            }
            return;
        }
        if (!transA && transB && m < DOT_MAX_M) {
            parallel.forRange(n, ROWS_W, (from, to) -> linearRange(a, aOff, b, bOff, bType, c, cOff, m, n, k, from, to, accumulate));
        } else if (!transB && m < AXPY_MAX_M) {
            // op(A)[i, kk] is A[i, kk] (stride 1) or A[kk, i] (stride m).
            long aStride = transA ? m : 1;
            parallel.forRange(m, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    long aRow = transA ? aOff + i : aOff + (long) i * k;
                    axpyRows(a, aRow, aStride, b, bOff, bType, c, cOff + (long) i * n, n, k, accumulate);
                }
            });
        } else {
            packed.run(new Gemm(a, aOff, transA, b, bOff, bType, transB, c, cOff, m, n, k, accumulate));
        }
    }

    /** C[i, from..to) for all i, as dot products of A rows with W rows. */
    private static void linearRange(MemorySegment a, long aOff, MemorySegment w, long wOff, DType wType,
                                    MemorySegment c, long cOff, int m, int n, int k, int from, int to, boolean acc) {
        int j = from;
        for (; j + ROWS_W <= to; j += ROWS_W) {
            int i = 0;
            for (; i + ROWS_A <= m; i += ROWS_A) {
                block4x4(a, aOff, w, wOff, wType, c, cOff, n, k, i, j, acc);
            }
            for (; i < m; i++) {
                block1x4(a, aOff, w, wOff, wType, c, cOff, n, k, i, j, acc);
            }
        }
        for (; j < to; j++) {
            for (int i = 0; i < m; i++) {
                float dot = dot(a, aOff + (long) i * k, w, wOff + (long) j * k, wType, k);
                long ci = cOff + (long) i * n + j;
                Lanes.setF(c, ci, acc ? Lanes.getF(c, ci) + dot : dot);
            }
        }
    }

    private static void block4x4(MemorySegment a, long aOff, MemorySegment w, long wOff, DType wType,
                                 MemorySegment c, long cOff, int n, int k, int i, int j, boolean acc) {
        long a0 = aOff + (long) i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        long w0 = wOff + (long) j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector c00 = FloatVector.zero(Lanes.F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        int kk = 0;
        int bound = k - k % L;
        for (; kk < bound; kk += L) {
            FloatVector x0 = Lanes.f32(a, a0 + kk), x1 = Lanes.f32(a, a1 + kk);
            FloatVector x2 = Lanes.f32(a, a2 + kk), x3 = Lanes.f32(a, a3 + kk);
            FloatVector v = Lanes.load(wType, w, w0 + kk);
            c00 = x0.fma(v, c00); c10 = x1.fma(v, c10); c20 = x2.fma(v, c20); c30 = x3.fma(v, c30);
            v = Lanes.load(wType, w, w1 + kk);
            c01 = x0.fma(v, c01); c11 = x1.fma(v, c11); c21 = x2.fma(v, c21); c31 = x3.fma(v, c31);
            v = Lanes.load(wType, w, w2 + kk);
            c02 = x0.fma(v, c02); c12 = x1.fma(v, c12); c22 = x2.fma(v, c22); c32 = x3.fma(v, c32);
            v = Lanes.load(wType, w, w3 + kk);
            c03 = x0.fma(v, c03); c13 = x1.fma(v, c13); c23 = x2.fma(v, c23); c33 = x3.fma(v, c33);
        }
        float[][] s = {
                {sum(c00), sum(c01), sum(c02), sum(c03)},
                {sum(c10), sum(c11), sum(c12), sum(c13)},
                {sum(c20), sum(c21), sum(c22), sum(c23)},
                {sum(c30), sum(c31), sum(c32), sum(c33)}};
        long[] ar = {a0, a1, a2, a3};
        long[] wr = {w0, w1, w2, w3};
        for (int r = 0; r < ROWS_A; r++) {
            for (int q = 0; q < ROWS_W; q++) {
                float t = s[r][q];
                for (int x = bound; x < k; x++) {
                    t += Lanes.getF(a, ar[r] + x) * Lanes.scalar(wType, w, wr[q] + x);
                }
                long ci = cOff + (long) (i + r) * n + j + q;
                Lanes.setF(c, ci, acc ? Lanes.getF(c, ci) + t : t);
            }
        }
    }

    private static void block1x4(MemorySegment a, long aOff, MemorySegment w, long wOff, DType wType,
                                 MemorySegment c, long cOff, int n, int k, int i, int j, boolean acc) {
        long a0 = aOff + (long) i * k;
        long w0 = wOff + (long) j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector c0 = FloatVector.zero(Lanes.F), c1 = c0, c2 = c0, c3 = c0;
        int kk = 0;
        int bound = k - k % L;
        for (; kk < bound; kk += L) {
            FloatVector x = Lanes.f32(a, a0 + kk);
            c0 = x.fma(Lanes.load(wType, w, w0 + kk), c0);
            c1 = x.fma(Lanes.load(wType, w, w1 + kk), c1);
            c2 = x.fma(Lanes.load(wType, w, w2 + kk), c2);
            c3 = x.fma(Lanes.load(wType, w, w3 + kk), c3);
        }
        float[] s = {sum(c0), sum(c1), sum(c2), sum(c3)};
        for (int q = 0; q < ROWS_W; q++) {
            float t = s[q];
            long wr = w0 + (long) q * k;
            for (int x = bound; x < k; x++) {
                t += Lanes.getF(a, a0 + x) * Lanes.scalar(wType, w, wr + x);
            }
            long ci = cOff + (long) i * n + j + q;
            Lanes.setF(c, ci, acc ? Lanes.getF(c, ci) + t : t);
        }
    }

    static float dot(MemorySegment a, long aOff, MemorySegment w, long wOff, DType wType, int k) {
        FloatVector acc = FloatVector.zero(Lanes.F);
        int kk = 0;
        int bound = k - k % L;
        for (; kk < bound; kk += L) {
            acc = Lanes.f32(a, aOff + kk).fma(Lanes.load(wType, w, wOff + kk), acc);
        }
        float s = sum(acc);
        for (; kk < k; kk++) {
            s += Lanes.getF(a, aOff + kk) * Lanes.scalar(wType, w, wOff + kk);
        }
        return s;
    }

    /**
     * One output row as a weighted sum of B rows: {@code c[:] (+)= Σ_kk a[kk·aStride] · B[kk, :]},
     * B stored {@code [k, n]}.
     */
    private static void axpyRows(MemorySegment a, long aOff, long aStride, MemorySegment b, long bOff, DType bType,
                                 MemorySegment c, long cOff, int n, int k, boolean acc) {
        if (!acc) {
            c.asSlice(cOff * 4, (long) n * 4).fill((byte) 0);
        }
        int bound = n - n % L;
        for (int kk = 0; kk < k; kk++) {
            float s = Lanes.getF(a, aOff + kk * aStride);
            long row = bOff + (long) kk * n;
            FloatVector sv = FloatVector.broadcast(Lanes.F, s);
            int j = 0;
            for (; j < bound; j += L) {
                Lanes.store(sv.fma(Lanes.load(bType, b, row + j), Lanes.f32(c, cOff + j)), c, cOff + j);
            }
            for (; j < n; j++) {
                Lanes.setF(c, cOff + j, Lanes.getF(c, cOff + j) + s * Lanes.scalar(bType, b, row + j));
            }
        }
    }

    private static float sum(FloatVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }
}
