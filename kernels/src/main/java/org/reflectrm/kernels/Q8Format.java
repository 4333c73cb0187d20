package org.reflectrm.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The project's 8-bit weight format ({@link DType#Q8}), after the idea of llama.cpp's Q8_0: values
 * are cut into blocks of {@link #BLOCK} consecutive elements (along a row), and each block is
 * stored as 32 signed bytes {@code q} followed by one little-endian F32 scale {@code s}; value
 * {@code i} of the block is {@code q[i] · s}. A block is 36 bytes, so the weights take 1.125
 * bytes per value, 56% of BF16.
 *
 * <p>Why this layout: every block carries its scale, so an element index alone locates a value
 * (no row length is needed, and row views work like any other dtype's), and a kernel reads the
 * weights as one sequential stream. The scale is F32 rather than Q8_0's F16 so the hot loop
 * broadcasts it without a conversion, for 6% more bytes.
 *
 * <p>Quantising: {@code s = max|w| / 127} over the block and {@code q = rint(w / s)}, so the
 * largest magnitude maps to ±127 exactly and every value is off by at most {@code s / 2}. An
 * all-zero block has scale 0. Element offsets into Q8 data must be whole blocks.
 */
public final class Q8Format {
    /** Values per block. */
    public static final int BLOCK = 32;
    /** Bytes per block: the quants, then the F32 scale. */
    public static final int BLOCK_BYTES = BLOCK + Float.BYTES;

    private static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private Q8Format() {
    }

    /** Bytes of {@code elements} values, which must be a whole number of blocks. */
    public static long bytes(long elements) {
        if (elements % BLOCK != 0) {
            throw new IllegalArgumentException(elements + " values are not a whole number of " + BLOCK + "-value Q8 blocks");
        }
        return elements / BLOCK * BLOCK_BYTES;
    }

    /** Byte offset of the block holding element {@code index}. */
    public static long blockOffset(long index) {
        return index / BLOCK * BLOCK_BYTES;
    }

    /** The scale of the block holding element {@code index}. */
    public static float scale(MemorySegment seg, long index) {
        return seg.get(SCALE, blockOffset(index) + BLOCK);
    }

    /** Element {@code index}, dequantised. */
    public static float get(MemorySegment seg, long index) {
        long block = blockOffset(index);
        return seg.get(ValueLayout.JAVA_BYTE, block + index % BLOCK) * seg.get(SCALE, block + BLOCK);
    }

    /**
     * Quantises {@code src[from .. from + n)} (n a whole number of blocks) into {@code dst} at
     * byte offset {@code dstByte}. NaN and infinite values are refused: they have no 8-bit form.
     */
    public static void quantize(float[] src, int from, int n, MemorySegment dst, long dstByte) {
        bytes(n);
        for (int b = 0; b < n / BLOCK; b++) {
            int at = from + b * BLOCK;
            float max = 0;
            for (int i = 0; i < BLOCK; i++) {
                float v = src[at + i];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("value " + v + " at element " + (at + i) + " cannot be quantised");
                }
                max = Math.max(max, Math.abs(v));
            }
            float scale = max / 127f;
            long out = dstByte + (long) b * BLOCK_BYTES;
            for (int i = 0; i < BLOCK; i++) {
                int q = scale == 0 ? 0 : (int) Math.rint(src[at + i] / scale);
                dst.set(ValueLayout.JAVA_BYTE, out + i, (byte) Math.max(-127, Math.min(127, q)));
            }
            dst.set(SCALE, out + BLOCK, scale);
        }
    }
}
