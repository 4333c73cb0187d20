package org.reflectrm.kernels;

/** BF16 conversions one value at a time: BF16 is the top half of an F32. */
public final class Bf16 {
    private Bf16() {
    }

    /** F32 to BF16 bits, rounding to nearest even as PyTorch's {@code .to(torch.bfloat16)}; NaN stays a quiet NaN. */
    public static short round(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** BF16 bits widened to the F32 they stand for (exact). */
    public static float widen(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }
}
