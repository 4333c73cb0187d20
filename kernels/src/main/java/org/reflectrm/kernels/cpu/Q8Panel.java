package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.Q8Format;

/**
 * Batched decode with 8-bit weights left in their row layout (when the panel budget refuses
 * {@link Q8Panels}, which are about twice as fast): four W rows against every A row. Widening
 * a Q8 block (a byte-to-float conversion per L values and the scale) costs more than the FMAs it
 * feeds, so with two or more A rows the four rows are dequantised once per {@link #DEPTH}-deep
 * panel into F32, and every A row then runs a plain F32 kernel against the panel. (For BF16 the
 * same panel bought nothing: its widening is a shift or an AND, cheap enough to repeat per row.)
 * F16's route, whole rows widened into native scratch and {@link DotLinear}'s F32 kernels, was
 * measured for Q8 too and lost end to end: a random qwen3-0.6b decoded 38–39 tokens/s at batch 4
 * and 67–68 at batch 8, against 50–58 and 78–87 with this L1-resident panel.
 *
 * <p>The kernel takes two A rows by four W rows: eight accumulators, two A vectors and one W
 * vector, a shape C2 keeps in registers (wider ones made it box the vectors, see
 * {@link DotLinear}). Accumulators are parked in {@link #acc} between panels, so each output is
 * reduced once, at the end, into {@link #sums} (row r's four outputs at {@code 4r}).
 * One instance per thread.
 */
final class Q8Panel {
    /** Values per panel row: four rows of 512 F32 (8 KB) and the A slices stay in L1. */
    static final int DEPTH = 512;
    private static final int ROWS = 4;

    private final float[] w = new float[ROWS * DEPTH];
    private float[] acc = new float[0];
    float[] sums = new float[0];

    /** Sums of A rows 0..m-1 against the W rows whose first elements are {@code wr[0..3]}. */
    void run(Gemm g, float[] a, long[] wr) {
        int m = g.m();
        int k = g.k();
        if (sums.length < m * ROWS) {
            acc = new float[m * ROWS * L];
            sums = new float[m * ROWS];
        }
        Arrays.fill(acc, 0, m * ROWS * L, 0f);
        for (int from = 0; from < k; from += DEPTH) {
            int len = Math.min(DEPTH, k - from);
            for (int q = 0; q < ROWS; q++) {
                dequantize(g.b(), wr[q] + from, len, q * DEPTH);
            }
            int i = 0;
            for (; i + 2 <= m; i += 2) {
                twoRows(a, i * k + from, (i + 1) * k + from, len, i * ROWS * L);
            }
            if (i < m) {
                oneRow(a, i * k + from, len, i * ROWS * L);
            }
        }
        for (int r = 0; r < m; r++) {
            int at = r * ROWS * L;
            Lanes.sum4(FloatVector.fromArray(F, acc, at), FloatVector.fromArray(F, acc, at + L),
                    FloatVector.fromArray(F, acc, at + 2 * L), FloatVector.fromArray(F, acc, at + 3 * L), sums, r * ROWS);
        }
    }

    /** {@code w[out ..] = } the {@code len} values from element {@code index} on, dequantised. */
    private void dequantize(MemorySegment seg, long index, int len, int out) {
        long block = Q8Format.blockOffset(index);
        for (int p = 0; p < len; p += Q8Format.BLOCK, block += Q8Format.BLOCK_BYTES) {
            FloatVector scale = Lanes.q8Scale(seg, block);
            for (int v = 0; v < Q8Format.BLOCK; v += L) {
                Lanes.q8(seg, block + v).mul(scale).intoArray(w, out + p + v);
            }
        }
    }

    private void twoRows(float[] a, int a0, int a1, int len, int at) {
        int at1 = at + ROWS * L;
        FloatVector c00 = FloatVector.fromArray(F, acc, at), c01 = FloatVector.fromArray(F, acc, at + L);
        FloatVector c02 = FloatVector.fromArray(F, acc, at + 2 * L), c03 = FloatVector.fromArray(F, acc, at + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, acc, at1), c11 = FloatVector.fromArray(F, acc, at1 + L);
        FloatVector c12 = FloatVector.fromArray(F, acc, at1 + 2 * L), c13 = FloatVector.fromArray(F, acc, at1 + 3 * L);
        float[] w = this.w;
        for (int p = 0; p < len; p += L) {
            FloatVector x0 = FloatVector.fromArray(F, a, a0 + p), x1 = FloatVector.fromArray(F, a, a1 + p);
            FloatVector v = FloatVector.fromArray(F, w, p);
            c00 = x0.fma(v, c00);
            c10 = x1.fma(v, c10);
            v = FloatVector.fromArray(F, w, DEPTH + p);
            c01 = x0.fma(v, c01);
            c11 = x1.fma(v, c11);
            v = FloatVector.fromArray(F, w, 2 * DEPTH + p);
            c02 = x0.fma(v, c02);
            c12 = x1.fma(v, c12);
            v = FloatVector.fromArray(F, w, 3 * DEPTH + p);
            c03 = x0.fma(v, c03);
            c13 = x1.fma(v, c13);
        }
        c00.intoArray(acc, at);
        c01.intoArray(acc, at + L);
        c02.intoArray(acc, at + 2 * L);
        c03.intoArray(acc, at + 3 * L);
        c10.intoArray(acc, at1);
        c11.intoArray(acc, at1 + L);
        c12.intoArray(acc, at1 + 2 * L);
        c13.intoArray(acc, at1 + 3 * L);
    }

    private void oneRow(float[] a, int a0, int len, int at) {
        FloatVector c0 = FloatVector.fromArray(F, acc, at), c1 = FloatVector.fromArray(F, acc, at + L);
        FloatVector c2 = FloatVector.fromArray(F, acc, at + 2 * L), c3 = FloatVector.fromArray(F, acc, at + 3 * L);
        float[] w = this.w;
        for (int p = 0; p < len; p += L) {
            FloatVector x = FloatVector.fromArray(F, a, a0 + p);
            c0 = x.fma(FloatVector.fromArray(F, w, p), c0);
            c1 = x.fma(FloatVector.fromArray(F, w, DEPTH + p), c1);
            c2 = x.fma(FloatVector.fromArray(F, w, 2 * DEPTH + p), c2);
            c3 = x.fma(FloatVector.fromArray(F, w, 3 * DEPTH + p), c3);
        }
        c0.intoArray(acc, at);
        c1.intoArray(acc, at + L);
        c2.intoArray(acc, at + 2 * L);
        c3.intoArray(acc, at + 3 * L);
    }
}
