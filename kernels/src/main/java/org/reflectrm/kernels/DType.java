package org.reflectrm.kernels;

import java.util.Locale;
import java.util.Optional;

/**
 * Element types. All but {@link #Q8} are named exactly as safetensors headers spell them; of
 * those, only F32, F16 and BF16 are computed with, and the others exist so a reader can name
 * what it found instead of failing on it.
 *
 * <p>{@link #Q8} is the project's 8-bit weight format ({@link Q8Format}): blocks of 32 values
 * sharing one scale, so it has no whole number of bytes per element; its sizes come from
 * {@link #bytes(long)}. On disk it is stored as U8 bytes.
 */
public enum DType {
    BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
    F64(8), I64(8), U64(8), F8_E5M2(1), F8_E4M3(1), Q8(0);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element; {@link #Q8} has no fixed size and throws (use {@link #bytes(long)}). */
    public int byteSize() {
        if (this == Q8) {
            throw new IllegalStateException("Q8 stores blocks of " + Q8Format.BLOCK + " values, not whole bytes per value");
        }
        return byteSize;
    }

    /**
     * Bytes that {@code elements} values take; for {@link #Q8}, {@code elements} must be a whole
     * number of blocks.
     */
    public long bytes(long elements) {
        return this == Q8 ? Q8Format.bytes(elements) : elements * byteSize;
    }

    /** True for the types the kernels read weights in: F32, F16, BF16 and {@link #Q8}. */
    public boolean isComputeType() {
        return this == F32 || this == F16 || this == BF16 || this == Q8;
    }

    /** True for the types the GPU kernels read weights in: F32, F16 and BF16 (not {@link #Q8}). */
    public boolean isGpuComputeType() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The type for a safetensors dtype string, or empty when the string names no known type. */
    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) {
            if (t != Q8 && t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** Parses a user-facing dtype flag such as {@code bf16} or {@code float32}. */
    public static DType fromFlag(String flag) {
        return switch (flag.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "f16", "fp16", "float16", "half" -> F16;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException(
                    "unknown dtype '" + flag + "': expected f32, f16 or bf16");
        };
    }
}
