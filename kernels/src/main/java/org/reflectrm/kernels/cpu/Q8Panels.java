package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

/**
 * {@link Panels} of an 8-bit weight ({@link Q8Format}), the same bytes as the weight: per panel
 * and per block of 32 input steps, the 32 steps' {@link #COLUMNS} quants (step-major, one step's
 * quants contiguous: columns 0 .. L-1, then L .. 2L-1), then the block's {@code COLUMNS} F32
 * scales in column order. A step widens to the tile's two F32 vectors with two sign-extending
 * byte-to-float conversions and two multiplies by the block's scale vectors, loaded once per
 * block; {@code q · s} in F32 is exactly the stored weight's dequantised value.
 *
 * <p>Why: the row layout made batched 8-bit decode ({@link Q8Panel}) dequantise four W rows
 * into an F32 buffer and then run a 2 × 4 F32 kernel with a lane reduction per output; it
 * decoded batch 8 at less than half the rate of BF16 on panels.
 */
public final class Q8Panels extends Panels {
    private static final int BLOCK = Q8Format.BLOCK;
    /** Bytes of one panel's block: COLUMNS stored blocks, regrouped. */
    private static final int PANEL_BLOCK_BYTES = COLUMNS * Q8Format.BLOCK_BYTES;
    /** Where a panel block's scales start, after its quants. */
    private static final int SCALES = COLUMNS * BLOCK;

    /** L quants as longs: see {@link #quants}. */
    private static final VectorSpecies<Long> QUANT_BITS = VectorSpecies.of(long.class, VectorShape.forBitSize(L * 8));

    private Q8Panels(MemorySegment panels, int n, int k) {
        super(panels, n, k);
    }

    @Override
    public DType type() {
        return DType.Q8;
    }

    /**
     * Repacks the 8-bit weight {@code W[n, k]} at element offset {@code off} of {@code w} into new
     * memory owned by {@code arena}. n must be a multiple of {@link #COLUMNS}, k and off whole blocks.
     */
    public static Q8Panels pack(MemorySegment w, long off, int n, int k, Arena arena) {
        requireShape(n, k);
        if (k % BLOCK != 0 || off % BLOCK != 0) {
            throw new IllegalArgumentException("8-bit panels need rows of whole " + BLOCK + "-value blocks: k=" + k
                    + ", offset " + off);
        }
        int blocks = k / BLOCK;
        int rowBytes = blocks * Q8Format.BLOCK_BYTES;
        MemorySegment out = arena.allocate(Q8Format.bytes((long) n * k), 64);
        byte[] rows = new byte[COLUMNS * rowBytes];
        byte[] block = new byte[PANEL_BLOCK_BYTES];
        for (int q = 0; q < n / COLUMNS; q++) {
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, Q8Format.blockOffset(off + (long) q * COLUMNS * k), rows, 0,
                    rows.length);
            for (int b = 0; b < blocks; b++) {
                for (int j = 0; j < COLUMNS; j++) {
                    int src = j * rowBytes + b * Q8Format.BLOCK_BYTES;
                    for (int p = 0; p < BLOCK; p++) {
                        block[p * COLUMNS + j] = rows[src + p];
                    }
                    // The little-endian scale, byte for byte.
                    System.arraycopy(rows, src + BLOCK, block, SCALES + Float.BYTES * j, Float.BYTES);
                }
                MemorySegment.copy(block, 0, out, ValueLayout.JAVA_BYTE, ((long) q * blocks + b) * PANEL_BLOCK_BYTES,
                        PANEL_BLOCK_BYTES);
            }
        }
        return new Q8Panels(out, n, k);
    }

    /** Byte offset of block {@code b} (steps 32b .. 32b + 31) of panel q. */
    private long blockAt(int q, int b) {
        return ((long) q * (k / BLOCK) + b) * PANEL_BLOCK_BYTES;
    }

    /** The scales of columns {@code column .. column + L - 1} of the panel block at {@code block}. */
    private FloatVector scales(long block, int column) {
        return FloatVector.fromMemorySegment(F, panels, block + SCALES + (long) Float.BYTES * column, Lanes.LE);
    }

    /**
     * L quants at byte {@code at} widened to F32. They are loaded as longs and reinterpreted as
     * bytes (free), not through {@link Lanes#q8}, so that {@code ByteVector.fromMemorySegment}
     * keeps seeing only the model's mapped weights: once it had also seen these native panels,
     * the batch-1 row kernel ({@link DotLinear}) compiled after it ran at 50–80% speed (batch-1
     * decode 15–40 tokens/s instead of 45–55), measured with and without panels in one JVM.
     */
    private FloatVector quants(long at) {
        return (FloatVector) LongVector.fromMemorySegment(QUANT_BITS, panels, at, Lanes.LE).reinterpretAsBytes()
                .convertShape(VectorOperators.B2F, F, 0);
    }

    @Override
    void widen(int q, int p0, int pk, float[] dst, int at) {
        for (int p = p0; p < p0 + pk; p++, at += COLUMNS) {
            long block = blockAt(q, p / BLOCK);
            long step = block + (long) (p % BLOCK) * COLUMNS;
            quants(step).mul(scales(block, 0)).intoArray(dst, at);
            quants(step + L).mul(scales(block, L)).intoArray(dst, at + L);
        }
    }

    /**
     * The kernel: per step two byte-to-float conversions and two multiplies by the block's scales
     * widen the step once for all eight rows, then sixteen FMAs. Live vectors: sixteen
     * accumulators, two scales, two widened steps and a broadcast, 21 of AVX-512's 32 registers,
     * and every vector operation is a C2 intrinsic (checked with {@code PrintInlining}: convert,
     * binaryOp, ternaryOp and load all inline), so nothing is boxed: {@code PanelDecodeBench
     * -prof gc} allocates the same 45 KB a call (the A copies) for 3072 and 151936 outputs.
     *
     * <p>Measured against the alternatives, interleaved in one JVM on the 2-vCPU AMD EPYC VM (8
     * rows, medians; the old row path {@link Q8Panel} 75–83 GFLOPS on 3072×1024, 1 thread):
     * <ul>
     *   <li>this kernel: 184–190 GFLOPS in cache; 151936×1024 from memory on 2 threads about 2×
     *       the row path;</li>
     *   <li>one flat loop over k loading the scales every step: the same within noise
     *       (175 GFLOPS);</li>
     *   <li>unscaled per-block sums, scaled once per block: with eight rows that is 32
     *       accumulators plus temporaries, more than the registers, so it ran as two 4-row
     *       passes: 184 GFLOPS in cache but 20–25% slower from memory;</li>
     *   <li>widening 256 steps into an F32 buffer and running {@link PackedGemm}'s F32 kernel on
     *       it (no second kernel to maintain): 62 GFLOPS against 112 for this kernel in the same
     *       run; the separate pass costs as much as the FMAs, as it did for {@link Q8Panel}.</li>
     * </ul>
     * The eight rows' FMAs repeat {@link Bf16Panels#tile}'s on purpose: sharing them would carry
     * the vectors through a call or a merge of two decoders, which C2 boxes (see {@link Panels}).
     */
    @Override
    void tile(float[] ap, int q, float[] tile) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        long block = blockAt(q, 0);
        for (int p0 = 0; p0 < k; p0 += BLOCK, block += PANEL_BLOCK_BYTES) {
            FloatVector s0 = scales(block, 0);
            FloatVector s1 = scales(block, L);
            for (int p = 0; p < BLOCK; p++) {
                long step = block + (long) p * COLUMNS;
                FloatVector b0 = quants(step).mul(s0);
                FloatVector b1 = quants(step + L).mul(s1);
                int at = (p0 + p) * ROWS;
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
