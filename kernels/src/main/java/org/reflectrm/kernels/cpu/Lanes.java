package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.DType;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Vector loads that widen stored weights (F32, BF16, F16) to F32 lanes in registers, plus
 * scalar equivalents for loop tails. All kernels read weights through here.
 */
final class Lanes {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** 2^112: rescales an F16 exponent field placed in F32 position (bias 15 to bias 127). */
    private static final float F16_EXP_ADJUST = 0x1p112f;

    private Lanes() {
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
            throw new IllegalArgumentException("kernels compute with F32, F16 or BF16, not " + type);
        }
    }
}
