package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Vector loads that widen stored weights (F32, BF16, F16) to F32 lanes in registers, plus
 * scalar equivalents for loop tails. All kernels read weights through here.
 */
final class Lanes {
    static final VectorSpecies<Float> F = checkedSpecies();
    static final int L = F.length();
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** 2^112: rescales an F16 exponent field placed in F32 position (bias 15 to bias 127). */
    private static final float F16_EXP_ADJUST = 0x1p112f;

    private Lanes() {
    }

    /*
     * Shuffles that bring lane i + 8, i + 4, i + 2, i + 1 down to lane i, for {@link #sum}. They
     * are separate static finals, not an array, so C2 sees constants and compiles each rearrange
     * to one permute; from an array it fell back to a boxed Java loop (a quarter of decode time).
     */
    private static final VectorShuffle<Float> DOWN_8 = VectorShuffle.iota(F, 8 % L, 1, true);
    private static final VectorShuffle<Float> DOWN_4 = VectorShuffle.iota(F, 4 % L, 1, true);
    private static final VectorShuffle<Float> DOWN_2 = VectorShuffle.iota(F, 2 % L, 1, true);
    private static final VectorShuffle<Float> DOWN_1 = VectorShuffle.iota(F, 1 % L, 1, true);
    /** Lane i ↔ lane i ^ 1 and lane i ↔ lane i ^ 2, and the lanes with bit 0 or bit 1 set, for {@link #sum4}. */
    private static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorMask<Float> BIT_0 = VectorMask.fromLong(F, 0xAAAAAAAAAAAAAAAAL);
    private static final VectorMask<Float> BIT_1 = VectorMask.fromLong(F, 0xCCCCCCCCCCCCCCCCL);

    /**
     * The sum of the lanes in a fixed pairwise order. {@code reduceLanes(ADD)} leaves the order
     * open, and interpreted and JIT-compiled code really do add in different orders, so a run
     * would not give the same bytes twice; this order is the same in both. Supports up to 16
     * lanes (512-bit vectors).
     */
    static float sum(FloatVector v) {
        if (L >= 16) {
            v = v.add(v.rearrange(DOWN_8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(DOWN_4));
        }
        if (L >= 4) {
            v = v.add(v.rearrange(DOWN_2));
        }
        if (L >= 2) {
            v = v.add(v.rearrange(DOWN_1));
        }
        return v.lane(0);
    }

    /**
     * The lane sums of four vectors into {@code out[at .. at+3]}, each in a fixed order, for
     * about half the shuffles of four {@link #sum} calls: the first two steps add neighbouring
     * lanes of two vectors at once and blend the results, so every lane does useful work. Needs
     * at least 4 lanes.
     */
    static void sum4(FloatVector a, FloatVector b, FloatVector c, FloatVector d, float[] out, int at) {
        FloatVector ab = a.add(a.rearrange(SWAP_1)).blend(b.add(b.rearrange(SWAP_1)), BIT_0);
        FloatVector cd = c.add(c.rearrange(SWAP_1)).blend(d.add(d.rearrange(SWAP_1)), BIT_0);
        // Lane 4j + r now holds the sum of lanes 4j .. 4j+3 of the r-th vector (a, b, c, d).
        FloatVector s = ab.add(ab.rearrange(SWAP_2)).blend(cd.add(cd.rearrange(SWAP_2)), BIT_1);
        if (L >= 16) {
            s = s.add(s.rearrange(DOWN_8));
        }
        if (L >= 8) {
            s = s.add(s.rearrange(DOWN_4));
        }
        out[at] = s.lane(0);
        out[at + 1] = s.lane(1);
        out[at + 2] = s.lane(2);
        out[at + 3] = s.lane(3);
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2^23: adding it rounds a float to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    /** Above this 2^n would leave the float range; e^x is within 1% of the largest float there. */
    private static final float EXP_MAX = 88.0f;
    private static final float EXP_MIN = -87.3365f;
    /** 1/6!, 1/5!, ..., 1/1!, 1/0!: Horner's coefficients after 1/7!. */
    private static final float[] TAYLOR = {1f / 720, 1f / 120, 1f / 24, 1f / 6, 0.5f, 1f, 1f};

    /**
     * e^x to about 1 ulp, from lane-wise IEEE operations only (the Vector API's EXP may use a
     * different algorithm when interpreted than when compiled, which breaks reproducibility).
     * x = n·ln2 + r with |r| ≤ ln2/2, then e^r by its Taylor series to degree 7 and 2^n built in
     * the exponent bits. Results below the normal range flush to 0 (so e^-inf = 0); x above 88
     * gives +inf; NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = clamped.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), clamped);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1f / 5040);
        for (float c : TAYLOR) {
            p = p.fma(r, FloatVector.broadcast(F, c));
        }
        IntVector bits = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = p.mul(bits.reinterpretAsFloats());
        result = result.blend(0f, x.compare(VectorOperators.LT, EXP_MIN));
        result = result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
        return result.blend(x, x.test(VectorOperators.IS_NAN));
    }

    private static VectorSpecies<Float> checkedSpecies() {
        VectorSpecies<Float> f = FloatVector.SPECIES_PREFERRED;
        if (f.length() > 16) {
            throw new IllegalStateException("vectors of " + f.length() + " floats: the kernels handle at most 16");
        }
        return f;
    }

    static FloatVector f32(MemorySegment seg, long index) {
        return FloatVector.fromMemorySegment(F, seg, index * 4, LE);
    }

    static void store(FloatVector v, MemorySegment seg, long index) {
        v.intoMemorySegment(seg, index * 4, LE);
    }

    /** BF16 is the top half of an F32: shift the 16 bits up. */
    static FloatVector bf16(MemorySegment seg, long index) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, index * 2, LE);
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * 2L BF16 values as L ints, each holding an (even, odd) pair: little-endian puts element 2t in
     * the low half of int t and element 2t+1 in the high half. {@link #even} and {@link #odd}
     * turn them into two F32 vectors with one shift or one AND, and no cross-lane conversion,
     * which makes this the cheapest way to widen BF16 when the other operand can be split into
     * even and odd elements to match.
     */
    static IntVector bf16Pairs(MemorySegment seg, long index) {
        return IntVector.fromMemorySegment(I, seg, index * 2, LE);
    }

    /** Bytes as lanes: L signed bytes widen to the L floats of {@link #F}. */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

    /**
     * L signed 8-bit quants at byte offset {@code byteOffset}, widened to F32 (one sign-extending
     * conversion, {@code vpmovsxbd} and {@code vcvtdq2ps} on x86).
     */
    static FloatVector q8(MemorySegment seg, long byteOffset) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, byteOffset, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** The scale of the Q8 block at byte offset {@code blockOffset}, in every lane. */
    static FloatVector q8Scale(MemorySegment seg, long blockOffset) {
        return FloatVector.broadcast(F, seg.get(JAVA_FLOAT_UNALIGNED, blockOffset + Q8Format.BLOCK));
    }

    /**
     * {@code dst[0 .. n) = } Q8 elements {@code index .. index + n)} dequantised: whole blocks with
     * vectors, a partial block at either end one value at a time.
     */
    static void dequantize(MemorySegment seg, long index, float[] dst, int n) {
        int p = 0;
        for (; p < n && (index + p) % Q8Format.BLOCK != 0; p++) {
            dst[p] = Q8Format.get(seg, index + p);
        }
        for (; p + Q8Format.BLOCK <= n; p += Q8Format.BLOCK) {
            long block = Q8Format.blockOffset(index + p);
            FloatVector scale = q8Scale(seg, block);
            for (int v = 0; v < Q8Format.BLOCK; v += L) {
                q8(seg, block + v).mul(scale).intoArray(dst, p + v);
            }
        }
        for (; p < n; p++) {
            dst[p] = Q8Format.get(seg, index + p);
        }
    }

    /** Elements 2t of a {@link #bf16Pairs} load, widened. */
    static FloatVector even(IntVector pairs) {
        return pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Elements 2t+1 of a {@link #bf16Pairs} load, widened. */
    static FloatVector odd(IntVector pairs) {
        return pairs.and(0xffff0000).reinterpretAsFloats();
    }

    static FloatVector bf16Even(MemorySegment seg, long index) {
        return even(bf16Pairs(seg, index));
    }

    static FloatVector bf16Odd(MemorySegment seg, long index) {
        return odd(bf16Pairs(seg, index));
    }

    /**
     * F16 to F32 without a table: move exponent and mantissa into F32 position and multiply by
     * 2^112, which is exact for normals and subnormals; infinities and NaNs get the all-ones
     * exponent; the sign is OR-ed back last.
     */
    static FloatVector f16(MemorySegment seg, long index) {
        ShortVector s = ShortVector.fromMemorySegment(S, seg, index * 2, LE);
        IntVector h = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = h.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        FloatVector value = shifted.reinterpretAsFloats().mul(F16_EXP_ADJUST);
        IntVector bits = value.reinterpretAsInts();
        var special = magnitude.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        bits = bits.blend(shifted.or(0x7f800000), special);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        return bits.or(sign).reinterpretAsFloats();
    }

    /**
     * {@code dst[dstIndex .. +n) = widen(src[srcIndex .. +n))}. Kernels widen through this (or
     * through type-specific loops) rather than calling {@link #load} per vector in a hot loop: the
     * switch is taken once, outside the loops, so each loop stays monomorphic; a loop switching
     * per vector ran several times slower once the JIT had seen two types.
     */
    static void widen(DType type, MemorySegment src, long srcIndex, MemorySegment dst, long dstIndex, int n) {
        if (type == DType.Q8) {
            // One embedding row per token: not worth a vector loop.
            for (int j = 0; j < n; j++) {
                setF(dst, dstIndex + j, Q8Format.get(src, srcIndex + j));
            }
            return;
        }
        int bound = n - n % L;
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcIndex * 4, dst, dstIndex * 4, (long) n * 4);
            case BF16 -> {
                for (int j = 0; j < bound; j += L) {
                    store(bf16(src, srcIndex + j), dst, dstIndex + j);
                }
            }
            case F16 -> {
                for (int j = 0; j < bound; j += L) {
                    store(f16(src, srcIndex + j), dst, dstIndex + j);
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + type);
        }
        if (type != DType.F32) {
            for (int j = bound; j < n; j++) {
                setF(dst, dstIndex + j, scalar(type, src, srcIndex + j));
            }
        }
    }

    /** {@code dst[0 .. n) = widen(src[srcIndex .. +n))}, into a Java array. */
    static void widen(DType type, MemorySegment src, long srcIndex, float[] dst, int n) {
        if (type == DType.Q8) {
            dequantize(src, srcIndex, dst, n);
            return;
        }
        int bound = n - n % L;
        switch (type) {
            case F32 -> {
                for (int j = 0; j < bound; j += L) {
                    f32(src, srcIndex + j).intoArray(dst, j);
                }
            }
            case BF16 -> {
                for (int j = 0; j < bound; j += L) {
                    bf16(src, srcIndex + j).intoArray(dst, j);
                }
            }
            case F16 -> {
                for (int j = 0; j < bound; j += L) {
                    f16(src, srcIndex + j).intoArray(dst, j);
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + type);
        }
        for (int j = bound; j < n; j++) {
            dst[j] = scalar(type, src, srcIndex + j);
        }
    }

    static FloatVector load(DType type, MemorySegment seg, long index) {
        return switch (type) {
            case F32 -> f32(seg, index);
            case BF16 -> bf16(seg, index);
            case F16 -> f16(seg, index);
            default -> throw new IllegalArgumentException("cannot compute with " + type);
        };
    }

    static float scalar(DType type, MemorySegment seg, long index) {
        return switch (type) {
            case F32 -> seg.getAtIndex(JAVA_FLOAT_UNALIGNED, index);
            case BF16 -> Float.intBitsToFloat((seg.getAtIndex(JAVA_SHORT_UNALIGNED, index) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(seg.getAtIndex(JAVA_SHORT_UNALIGNED, index));
            case Q8 -> Q8Format.get(seg, index);
            default -> throw new IllegalArgumentException("cannot compute with " + type);
        };
    }

    static float getF(MemorySegment seg, long index) {
        return seg.getAtIndex(JAVA_FLOAT_UNALIGNED, index);
    }

    static void setF(MemorySegment seg, long index, float v) {
        seg.setAtIndex(JAVA_FLOAT_UNALIGNED, index, v);
    }

    static void requireCompute(DType type) {
        if (!type.isComputeType()) {
            throw new IllegalArgumentException("kernels compute with F32, F16, BF16 or Q8, not " + type);
        }
    }
}
