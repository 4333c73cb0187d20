package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.DType;

/**
 * Backward of the row-wise and element-wise kernels: RMSNorm, SwiGLU and the embedding lookup
 * (RoPE's backward is {@link CpuElementwise#ropeInverse}). Every gradient is accumulated
 * ({@code dx += ...}), and every output element is produced by one fixed sequence of operations,
 * so the bits do not depend on the number of threads.
 */
final class CpuElementwiseBackward {
    /**
     * Rows per partial sum of RMSNorm's dw. Fixed (not derived from the thread count) so the
     * order of the summation is always the same; short, so the F32 partials stay accurate.
     */
    static final int ROW_BLOCK = 32;

    private final Parallel parallel;

    CpuElementwiseBackward(Parallel parallel) {
        this.parallel = parallel;
    }

    /**
     * x, dy, dx: {@code [rows, dim]}; w: {@code [dim]} of wType; dw: F32 {@code [dim]} or null.
     * Rows go in blocks of {@link #ROW_BLOCK}; each block adds its rows' dw terms into its own
     * F32 partial, and the partials are then summed in block order, in double.
     */
    void rmsNormBackward(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                         MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                         MemorySegment dw, long dwOff, int rows, int dim, float eps) {
        Lanes.requireCompute(wType);
        float[] weight = new float[dim];
        Lanes.widen(wType, w, wOff, weight, dim);
        int blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        float[] partials = dw == null ? null : new float[Math.multiplyExact(blocks, dim)];
        parallel.rows(blocks, (long) ROW_BLOCK * dim, b -> {
            for (int r = b * ROW_BLOCK; r < Math.min(rows, (b + 1) * ROW_BLOCK); r++) {
                long at = (long) r * dim;
                float inv = rmsNormRow(x, xOff + at, weight, dy, dyOff + at, dx, dxOff + at, dim, eps);
                if (partials != null) {
                    addWeightTerms(x, xOff + at, dy, dyOff + at, inv, partials, b * dim, dim);
                }
            }
        });
        if (dw != null) {
            double[] total = new double[dim];
            for (int b = 0; b < blocks; b++) {
                for (int j = 0; j < dim; j++) {
                    total[j] += partials[b * dim + j];
                }
            }
            for (int j = 0; j < dim; j++) {
                Lanes.setF(dw, dwOff + j, (float) (Lanes.getF(dw, dwOff + j) + total[j]));
            }
        }
    }

    /**
     * One row: with g = dy·w and r = 1/sqrt(mean(x²) + eps) (computed exactly as the forward
     * does), {@code dx += r·g − x·r³·mean(g·x)}. Returns r for the dw terms.
     */
    private static float rmsNormRow(MemorySegment x, long xr, float[] w, MemorySegment dy, long dyr,
                                    MemorySegment dx, long dxr, int dim, float eps) {
        int bound = dim - dim % L;
        FloatVector ssAcc = FloatVector.zero(F);
        FloatVector gxAcc = FloatVector.zero(F);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector v = Lanes.f32(x, xr + j);
            ssAcc = v.fma(v, ssAcc);
            gxAcc = Lanes.f32(dy, dyr + j).mul(FloatVector.fromArray(F, w, j)).fma(v, gxAcc);
        }
        float ss = Lanes.sum(ssAcc);
        float gx = Lanes.sum(gxAcc);
        for (; j < dim; j++) {
            float v = Lanes.getF(x, xr + j);
            ss += v * v;
            gx += Lanes.getF(dy, dyr + j) * w[j] * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
        float coef = inv * inv * inv * (gx / dim);
        for (j = 0; j < bound; j += L) {
            FloatVector g = Lanes.f32(dy, dyr + j).mul(FloatVector.fromArray(F, w, j));
            FloatVector delta = g.mul(inv).sub(Lanes.f32(x, xr + j).mul(coef));
            Lanes.store(Lanes.f32(dx, dxr + j).add(delta), dx, dxr + j);
        }
        for (; j < dim; j++) {
            float g = Lanes.getF(dy, dyr + j) * w[j];
            float delta = g * inv - Lanes.getF(x, xr + j) * coef;
            Lanes.setF(dx, dxr + j, Lanes.getF(dx, dxr + j) + delta);
        }
        return inv;
    }

    /** {@code partial[at + j] += dy_j · x_j · r}: one row's terms of dw = Σ_rows dy·x·r. */
    private static void addWeightTerms(MemorySegment x, long xr, MemorySegment dy, long dyr, float inv,
                                       float[] partial, int at, int dim) {
        int bound = dim - dim % L;
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector term = Lanes.f32(dy, dyr + j).mul(Lanes.f32(x, xr + j)).mul(inv);
            FloatVector.fromArray(F, partial, at + j).add(term).intoArray(partial, at + j);
        }
        for (; j < dim; j++) {
            partial[at + j] += Lanes.getF(dy, dyr + j) * Lanes.getF(x, xr + j) * inv;
        }
    }

    /**
     * With s = sigmoid(g) = 1/(1 + e^−g) (e^−g as the forward computes it) and silu = g/(1 + e^−g):
     * {@code dUp += dOut·silu}, {@code dGate += dOut·up·s·(1 + g·(1 − s))}. Large |g| saturate
     * cleanly: e^−g = inf gives s = 0 and silu = −0; e^−g = 0 gives s = 1 and silu' = 1.
     */
    void swigluBackward(MemorySegment gate, long gOff, MemorySegment up, long uOff, MemorySegment dOut, long dOff,
                        MemorySegment dGate, long dgOff, MemorySegment dUp, long duOff, long n) {
        parallel.chunks(n, L, (from, to) -> {
            long j = from;
            long bound = from + (to - from) / L * L;
            for (; j < bound; j += L) {
                FloatVector g = Lanes.f32(gate, gOff + j);
                FloatVector denominator = Lanes.exp(g.neg()).add(1f);
                FloatVector sig = FloatVector.broadcast(F, 1f).div(denominator);
                FloatVector silu = g.mul(sig);                 // one division, not two: they dominate
                FloatVector siluPrime = sig.mul(g.mul(sig.neg().add(1f)).add(1f));
                FloatVector d = Lanes.f32(dOut, dOff + j);
                Lanes.store(Lanes.f32(dUp, duOff + j).add(d.mul(silu)), dUp, duOff + j);
                FloatVector du = d.mul(Lanes.f32(up, uOff + j));
                Lanes.store(Lanes.f32(dGate, dgOff + j).add(du.mul(siluPrime)), dGate, dgOff + j);
            }
            for (; j < to; j++) {
                // The forward's scalar tail works in double; so does this one.
                double g = Lanes.getF(gate, gOff + j);
                double denominator = 1.0 + Math.exp(-g);
                double sig = 1.0 / denominator;
                float silu = (float) (g * sig);
                float siluPrime = (float) (sig * (1.0 + g * (1.0 - sig)));
                float d = Lanes.getF(dOut, dOff + j);
                Lanes.setF(dUp, duOff + j, Lanes.getF(dUp, duOff + j) + d * silu);
                float du = d * Lanes.getF(up, uOff + j);
                Lanes.setF(dGate, dgOff + j, Lanes.getF(dGate, dgOff + j) + du * siluPrime);
            }
        });
    }

    /**
     * {@code dTable[ids[i], :] += dOut[i, :]}, dTable F32 {@code [vocab, dim]}. Split by columns:
     * each task owns a column range of every table row and walks i in order, so repeated ids
     * sum in order of i and no two threads touch the same element.
     */
    void embeddingBackward(int[] ids, MemorySegment dOut, long dOutOff, int dim, MemorySegment dTable, long dTableOff) {
        long vocab = (dTable.byteSize() / 4 - dTableOff) / Math.max(dim, 1);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("token id " + ids[i] + " at " + i + " outside the table of " + vocab + " rows");
            }
        }
        Parallel.RangeBody columns = (c0, c1) -> {
            int bound = c0 + (c1 - c0) / L * L;
            for (int i = 0; i < ids.length; i++) {
                long src = dOutOff + (long) i * dim;
                long dst = dTableOff + (long) ids[i] * dim;
                int c = c0;
                for (; c < bound; c += L) {
                    Lanes.store(Lanes.f32(dTable, dst + c).add(Lanes.f32(dOut, src + c)), dTable, dst + c);
                }
                for (; c < c1; c++) {
                    Lanes.setF(dTable, dst + c, Lanes.getF(dTable, dst + c) + Lanes.getF(dOut, src + c));
                }
            }
        };
        if ((long) ids.length * dim < Parallel.MIN_WORK) {
            columns.run(0, dim);
        } else {
            parallel.forRange(dim, L, columns);
        }
    }
}
