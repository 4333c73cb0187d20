package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

import static org.reflectrm.kernels.cpu.Lanes.L;

/**
 * Matrix products on the CPU, dispatched by shape:
 * <ul>
 *   <li>a linear layer ({@code C = A · Wᵀ}, HF's {@code W[out, in]}) with few rows, as in decode:
 *       {@link DotLinear}, dot products that stream W once;</li>
 *   <li>{@code B[k, n]} with very few rows: {@link #axpyColumns}, each C row a weighted sum of
 *       B rows, again streaming B once;</li>
 *   <li>everything else: {@link PackedGemm}, the cache-blocked kernel that runs near the FMA
 *       peak once there are enough rows to pay for packing.</li>
 * </ul>
 */
final class CpuMatmul {
    /**
     * Below this many rows a linear layer is computed as dot products, without packing: packing
     * transposes W (about a nanosecond per element), which only pays once each packed element
     * feeds enough rows.
     */
    static final int DOT_MAX_M = 32;
    /** Below this many rows a [k, n] B is streamed row by row, without packing. */
    static final int AXPY_MAX_M = 4;

    private final Parallel parallel;
    private final PackedGemm packed;
    private final DotLinear dot;
    private final PanelCache panels;

    CpuMatmul(Parallel parallel) {
        this(parallel, PackedGemm.DEFAULT);
    }

    CpuMatmul(Parallel parallel, PackedGemm.Blocking blocking) {
        this(parallel, blocking, PanelCache.defaultBudget());
    }

    CpuMatmul(Parallel parallel, PackedGemm.Blocking blocking, long panelBudgetBytes) {
        this.parallel = parallel;
        this.panels = new PanelCache(panelBudgetBytes);
        this.packed = new PackedGemm(parallel, blocking);
        this.dot = new DotLinear(parallel);
    }

    void matmul(MemorySegment a, long aOff, boolean transA,
                MemorySegment b, long bOff, DType bType, boolean transB,
                MemorySegment c, long cOff, int m, int n, int k, boolean accumulate) {
        Lanes.requireCompute(bType);
        if (bType == DType.Q8) {
            requireQ8Linear(transB, bOff, k);
        }
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
        if (!transA && !accumulate && m >= PanelCache.minRows(bType) && m < DOT_MAX_M) {
            // Batched decode: the weight repacked into panels, once (see Panels), if the budget allows.
            Panels p = panelsOf(b, bOff, bType, transB, n, k);
            if (p != null) {
                p.multiply(a, aOff, m, c, cOff, parallel);
                return;
            }
        }
        if (!transA && transB && m < DOT_MAX_M) {
            dot.run(new Gemm(a, aOff, false, b, bOff, bType, true, c, cOff, m, n, k, accumulate));
        } else if (!transB && m < AXPY_MAX_M) {
            // Few rows against B[k, n]: threads take column ranges, so B is still streamed once.
            Gemm g = new Gemm(a, aOff, transA, b, bOff, bType, false, c, cOff, m, n, k, accumulate);
            parallel.forRange(n, 4 * L, (from, to) -> axpyColumns(g, from, to));
        } else {
            // A BF16 or 8-bit linear weight packs from its panels (made here on first use, within the budget).
            packed.run(new Gemm(a, aOff, transA, b, bOff, bType, transB, c, cOff, m, n, k, accumulate),
                    panelsOf(b, bOff, bType, transB, n, k));
        }
    }

    /** The panels of B if it is a linear weight {@code W[n, k]} they can hold and the budget allows, else null. */
    private Panels panelsOf(MemorySegment b, long bOff, DType bType, boolean transB, int n, int k) {
        return transB && Panels.fits(bType, n) ? panels.get(b, bOff, bType, n, k) : null;
    }

    /**
     * 8-bit weights are read only as a linear layer's forward ({@code W[n, k]}, rows of whole
     * blocks): the layouts the backward needs would cut blocks across rows.
     */
    private static void requireQ8Linear(boolean transB, long bOff, int k) {
        if (!transB) {
            throw new IllegalArgumentException("Q8 weights can only be used as a linear layer's W[out, in]; "
                    + "gradients through 8-bit weights are not supported");
        }
        if (k % Q8Format.BLOCK != 0 || bOff % Q8Format.BLOCK != 0) {
            throw new IllegalArgumentException("Q8 weights need rows of whole " + Q8Format.BLOCK
                    + "-value blocks: row length " + k + ", offset " + bOff);
        }
    }

    /**
     * Columns [from, to) of every C row as weighted sums of B rows:
     * {@code C[i, from..to) (+)= Σ_p op(A)[i, p] · B[p, from..to)}, B stored {@code [k, n]}.
     */
    private static void axpyColumns(Gemm g, int from, int to) {
        for (int i = 0; i < g.m(); i++) {
            long cRow = g.cIndex(i, from);
            if (!g.accumulate()) {
                g.c().asSlice(cRow * 4, (to - from) * 4L).fill((byte) 0);
            }
            for (int p = 0; p < g.k(); p++) {
                float s = Lanes.getF(g.a(), g.aIndex(i, p));
                axpy(s, g.b(), g.bIndex(p, from), g.bType(), g.c(), cRow, to - from);
            }
        }
    }

    /**
     * {@code c[0..n) += s · widen(b[0..n))}. The type switch sits outside the loops on purpose:
     * inside them, a JIT that had seen two weight types compiled a far slower loop.
     */
    private static void axpy(float s, MemorySegment b, long bAt, DType type, MemorySegment c, long cAt, int n) {
        FloatVector sv = FloatVector.broadcast(Lanes.F, s);
        int bound = n - n % L;
        switch (type) {
            case F32 -> {
                for (int j = 0; j < bound; j += L) {
                    Lanes.store(sv.fma(Lanes.f32(b, bAt + j), Lanes.f32(c, cAt + j)), c, cAt + j);
                }
            }
            case BF16 -> {
                for (int j = 0; j < bound; j += L) {
                    Lanes.store(sv.fma(Lanes.bf16(b, bAt + j), Lanes.f32(c, cAt + j)), c, cAt + j);
                }
            }
            case F16 -> {
                for (int j = 0; j < bound; j += L) {
                    Lanes.store(sv.fma(Lanes.f16(b, bAt + j), Lanes.f32(c, cAt + j)), c, cAt + j);
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + type);
        }
        for (int j = bound; j < n; j++) {
            Lanes.setF(c, cAt + j, Lanes.getF(c, cAt + j) + s * Lanes.scalar(type, b, bAt + j));
        }
    }
}
