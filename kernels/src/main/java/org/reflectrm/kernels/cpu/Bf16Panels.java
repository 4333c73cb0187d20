package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A BF16 linear weight {@code W[n, k]} repacked for batched decode: panels of {@code 2L} output
 * columns, each holding, for every input index p, the panel's 2L weights as L ints. Int t of a
 * step holds column t in its low half and column L + t in its high half, so one int load and a
 * shift and an AND widen the panel's two F32 vectors (the pair trick of {@link DotLinear}).
 *
 * <p>Why: the row layout makes batched decode run one dot product per (row, output): each output
 * ends in a lane reduction, and each W vector is widened again for every row. Here the product
 * runs as {@link PackedGemm}'s micro-kernel does, an 8-row by 2L-column tile of C in sixteen
 * registers, one W step widened once for eight rows, no reductions, and each thread streams its
 * panels from memory in one sequential run that the prefetchers follow. Measured on the 2-vCPU
 * AMD EPYC (Zen 5) VM, 8 rows, one thread: 220–240 GFLOPS on a 3072×1024 layer in cache against
 * 100–105 for the row kernel, and 119–123 against 59–62 on the 151936×1024 LM head from memory.
 *
 * <p>The price is a copy of the weights (the same size as BF16), made once per weight on its
 * first batched use ({@link PanelCache}, within a memory budget).
 */
public final class Bf16Panels {
    /** Output columns per panel. */
    public static final int COLUMNS = 2 * L;
    /** Rows of C per tile. */
    private static final int ROWS = 8;
    private static final VectorSpecies<Integer> I = Lanes.I;

    private final MemorySegment panels;
    private final int n;
    private final int k;

    private Bf16Panels(MemorySegment panels, int n, int k) {
        this.panels = panels;
        this.n = n;
        this.k = k;
    }

    /** Output features. */
    public int n() {
        return n;
    }

    /** Input features. */
    public int k() {
        return k;
    }

    /**
     * Repacks the BF16 weight {@code W[n, k]} at element offset {@code off} of {@code w} into new
     * memory owned by {@code arena}. n must be a multiple of {@link #COLUMNS}.
     */
    public static Bf16Panels pack(MemorySegment w, long off, int n, int k, Arena arena) {
        if (n <= 0 || k <= 0 || n % COLUMNS != 0) {
            throw new IllegalArgumentException("panels need n > 0 a multiple of " + COLUMNS + " and k > 0, got n="
                    + n + " k=" + k);
        }
        MemorySegment out = arena.allocate(2L * n * k, 64);
        short[] rows = new short[COLUMNS * k];
        int[] step = new int[L];
        for (int q = 0; q < n / COLUMNS; q++) {
            MemorySegment.copy(w, ValueLayout.JAVA_SHORT_UNALIGNED, 2 * (off + (long) q * COLUMNS * k), rows, 0,
                    rows.length);
            long base = (long) q * k * L;
            for (int p = 0; p < k; p++) {
                for (int t = 0; t < L; t++) {
                    step[t] = (rows[t * k + p] & 0xffff) | (rows[(L + t) * k + p] << 16);
                }
                MemorySegment.copy(step, 0, out, ValueLayout.JAVA_INT_UNALIGNED, 4 * (base + (long) p * L), L);
            }
        }
        return new Bf16Panels(out, n, k);
    }

    /**
     * {@code C[m, n] = A[m, k] · Wᵀ} for F32 A and C at element offsets {@code aOff}, {@code cOff},
     * with threads splitting the panels.
     */
    void multiply(MemorySegment a, long aOff, int m, MemorySegment c, long cOff, Parallel parallel) {
        for (int i0 = 0; i0 < m; i0 += ROWS) {
            int rows = Math.min(ROWS, m - i0);
            float[] ap = stepMajor(a, aOff + (long) i0 * k, rows);
            long cRow0 = cOff + (long) i0 * n;
            parallel.forRange(n / COLUMNS, 1, (from, to) -> {
                float[] tile = new float[ROWS * COLUMNS];
                for (int q = from; q < to; q++) {
                    tile(ap, q, tile);
                    for (int r = 0; r < rows; r++) {
                        MemorySegment.copy(tile, r * COLUMNS, c, ValueLayout.JAVA_FLOAT_UNALIGNED,
                                4 * (cRow0 + (long) r * n + (long) q * COLUMNS), COLUMNS);
                    }
                }
            });
        }
    }

    /**
     * Steps {@code [p0, p0 + pk)} of panel {@code q} widened to F32 into {@code dst} from
     * {@code at}, {@link #COLUMNS} floats a step: the layout of {@link PackedGemm}'s packed B, so
     * a prefill packs a panel with one contiguous widening pass instead of a transposing one.
     */
    void widen(int q, int p0, int pk, float[] dst, int at) {
        long base = ((long) q * k + p0) * L * 4;
        for (int p = 0; p < pk; p++) {
            IntVector pairs = IntVector.fromMemorySegment(I, panels, base + (long) p * L * 4, Lanes.LE);
            Lanes.even(pairs).intoArray(dst, at + p * COLUMNS);
            Lanes.odd(pairs).intoArray(dst, at + p * COLUMNS + L);
        }
    }

    /** Up to eight A rows, step-major ({@code ap[p·8 + r]}), missing rows zero. */
    private float[] stepMajor(MemorySegment a, long at, int rows) {
        float[] row = new float[k];
        float[] ap = new float[k * ROWS];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(a, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (at + (long) r * k), row, 0, k);
            for (int p = 0; p < k; p++) {
                ap[p * ROWS + r] = row[p];
            }
        }
        return ap;
    }

    /**
     * The 8 × 2L tile of panel q, left in {@code tile} (row-major). As in {@link PackedGemm#kernel}
     * the accumulators leave through an array: C2 keeps all sixteen in registers only when
     * nothing else follows the loop in this method.
     */
    private void tile(float[] ap, int q, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        long base = (long) q * k * L * 4;
        for (int p = 0; p < k; p++) {
            IntVector pairs = IntVector.fromMemorySegment(I, panels, base + (long) p * L * 4, Lanes.LE);
            FloatVector b0 = Lanes.even(pairs);
            FloatVector b1 = Lanes.odd(pairs);
            int at = p * ROWS;
            FloatVector x = FloatVector.broadcast(F, ap[at]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(F, ap[at + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(F, ap[at + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(F, ap[at + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(F, ap[at + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(F, ap[at + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(F, ap[at + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(F, ap[at + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, COLUMNS);
        c11.intoArray(tile, COLUMNS + L);
        c20.intoArray(tile, 2 * COLUMNS);
        c21.intoArray(tile, 2 * COLUMNS + L);
        c30.intoArray(tile, 3 * COLUMNS);
        c31.intoArray(tile, 3 * COLUMNS + L);
        c40.intoArray(tile, 4 * COLUMNS);
        c41.intoArray(tile, 4 * COLUMNS + L);
        c50.intoArray(tile, 5 * COLUMNS);
        c51.intoArray(tile, 5 * COLUMNS + L);
        c60.intoArray(tile, 6 * COLUMNS);
        c61.intoArray(tile, 6 * COLUMNS + L);
        c70.intoArray(tile, 7 * COLUMNS);
        c71.intoArray(tile, 7 * COLUMNS + L);
    }
}
