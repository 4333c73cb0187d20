package org.reflectrm.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

/**
 * Test support: random operands in native memory, and the comparison every kernel test uses.
 * References are plain scalar loops in double precision, written here independently of the
 * kernels.
 */
final class Ref {
    /** Relative tolerance for F32 paths, against the magnitude of the terms summed. */
    static final double TOL = 1e-5;

    private Ref() {
    }

    static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    /** {@code pad} junk elements, then {@code v}: kernels must honour element offsets. */
    static MemorySegment f32(Arena arena, float[] v, int pad) {
        MemorySegment s = arena.allocate(4L * (v.length + pad + 1), 64);
        for (int i = 0; i < pad; i++) {
            s.setAtIndex(JAVA_FLOAT_UNALIGNED, i, Float.NaN);
        }
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(JAVA_FLOAT_UNALIGNED, pad + i, v[i]);
        }
        s.setAtIndex(JAVA_FLOAT_UNALIGNED, pad + v.length, Float.NaN);
        return s;
    }

    /** {@code v} followed by {@code pad} NaN elements: a kernel that reads past the data poisons its result. */
    static float[] nanPadded(float[] v, int pad) {
        float[] out = java.util.Arrays.copyOf(v, v.length + pad);
        java.util.Arrays.fill(out, v.length, out.length, Float.NaN);
        return out;
    }

    static float[] read(MemorySegment s, long off, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = s.getAtIndex(JAVA_FLOAT_UNALIGNED, off + i);
        }
        return v;
    }

    /** Weights stored as {@code type} after {@code pad} junk elements, and their exact F32 values. */
    record Weights(MemorySegment seg, float[] values) {
    }

    /**
     * Random weights rounded to {@code type}, so the widened values are known exactly. For Q8,
     * n and pad are whole blocks, and the values are the quantised ones dequantised from the
     * stored bytes by {@link #dequantizeQ8}.
     */
    static Weights weights(Arena arena, Random rnd, int n, DType type, int pad) {
        float[] v = gaussian(rnd, n);
        if (type == DType.Q8) {
            float[] all = new float[pad + n];
            java.util.Arrays.fill(all, 0, pad, 1000f);
            System.arraycopy(v, 0, all, pad, n);
            MemorySegment seg = arena.allocate(Q8Format.bytes(all.length) + 64, 64);
            Q8Format.quantize(all, 0, all.length, seg, 0);
            return new Weights(seg, java.util.Arrays.copyOfRange(dequantizeQ8(seg, all.length), pad, all.length));
        }
        if (type == DType.F32) {
            return new Weights(f32(arena, v, pad), v);
        }
        short[] bits = new short[n];
        for (int i = 0; i < n; i++) {
            bits[i] = type == DType.BF16 ? (short) (Float.floatToRawIntBits(v[i]) >>> 16) : Float.floatToFloat16(v[i]);
            v[i] = widen(type, bits[i]);
        }
        return new Weights(shorts(arena, bits, pad), v);
    }

    /**
     * Reference dequantisation of the {@code n} 8-bit values stored from byte 0 of {@code seg}, from
     * the raw bytes (quants, then a little-endian F32 scale per 32 values), not through the code
     * under test.
     */
    static float[] dequantizeQ8(MemorySegment seg, int n) {
        float[] out = new float[n];
        for (int b = 0; b < n / 32; b++) {
            float scale = seg.get(JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), b * 36L + 32);
            for (int i = 0; i < 32; i++) {
                out[b * 32 + i] = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b * 36L + i) * scale;
            }
        }
        return out;
    }

    static MemorySegment shorts(Arena arena, short[] bits, int pad) {
        MemorySegment s = arena.allocate(2L * (bits.length + pad + 1), 64);
        for (int i = 0; i < pad; i++) {
            s.setAtIndex(JAVA_SHORT_UNALIGNED, i, (short) 0x7fc1);
        }
        for (int i = 0; i < bits.length; i++) {
            s.setAtIndex(JAVA_SHORT_UNALIGNED, pad + i, bits[i]);
        }
        return s;
    }

    /** The reference widening: BF16 is the top half of an F32; F16 via the JDK's conversion. */
    static float widen(DType type, short bits) {
        return type == DType.BF16 ? Float.intBitsToFloat((bits & 0xffff) << 16) : Float.float16ToFloat(bits);
    }

    /**
     * Asserts {@code |got[i] - want[i]| <= tol · scale[i]} for every i, where scale is the sum of
     * the magnitudes of the terms that produced want[i] (so cancellation does not demand more
     * precision than F32 arithmetic can give). A tiny absolute floor covers exact zeros.
     */
    static void assertClose(double[] want, double[] scale, float[] got, double tol, String what) {
        if (want.length != got.length) {
            fail(what + ": length " + got.length + ", expected " + want.length);
        }
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            double bound = tol * scale[i] + 1e-30;
            if (!(err <= bound)) {
                fail(String.format("%s: element %d is %s, expected %s (error %.3g > %.3g)",
                        what, i, got[i], want[i], err, bound));
            }
        }
    }

    /** Element-wise relative comparison: scale is |want|. */
    static void assertClose(double[] want, float[] got, double tol, String what) {
        double[] scale = new double[want.length];
        for (int i = 0; i < want.length; i++) {
            scale[i] = Math.abs(want[i]);
        }
        assertClose(want, scale, got, tol, what);
    }
}
