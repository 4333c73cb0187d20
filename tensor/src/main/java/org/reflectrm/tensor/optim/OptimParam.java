package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * One trainable parameter as an optimizer sees it: {@code size} F32 values at element
 * {@code valueOffset} of {@code value}, and their F32 gradient at element {@code gradOffset} of
 * {@code grad}, both in the memory of the optimizer's device (host memory on the CPU). The
 * optimizer updates the values in place and never owns either buffer.
 *
 * @param name        the Hugging Face tensor name; it also names the optimizer state of this
 *                    parameter in checkpoints ({@code <name>.exp_avg}, ...), so it must be unique
 * @param weightDecay whether weight decay applies (norm weights and biases are commonly excluded)
 */
public record OptimParam(String name, DeviceBuffer value, long valueOffset, DeviceBuffer grad, long gradOffset,
        long size, boolean weightDecay) {

    public OptimParam {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(grad, "grad");
        check(name, "value", value, valueOffset, size);
        check(name, "gradient", grad, gradOffset, size);
        if (HostDevice.isHost(value) && HostDevice.segment(value).isReadOnly()) {
            throw new IllegalArgumentException("parameter " + name + ": the value segment is read-only");
        }
    }

    /** A parameter in host memory (native order), for optimizers over plain segments. */
    public OptimParam(String name, MemorySegment value, long valueOffset, MemorySegment grad, long gradOffset,
                      long size, boolean weightDecay) {
        this(name, HostDevice.wrap(value), valueOffset, HostDevice.wrap(grad), gradOffset, size, weightDecay);
    }

    /** A parameter in host memory that fills both segments, with weight decay. */
    public static OptimParam of(String name, MemorySegment value, MemorySegment grad) {
        return new OptimParam(name, value, 0, grad, 0, value.byteSize() / Float.BYTES, true);
    }

    /** The same parameter, excluded from weight decay. */
    public OptimParam withoutWeightDecay() {
        return new OptimParam(name, value, valueOffset, grad, gradOffset, size, false);
    }

    /** The values alone, as a host segment of exactly {@code size} floats (host memory only). */
    public MemorySegment valueSlice() {
        return HostDevice.segment(value).asSlice(valueOffset * Float.BYTES, size * Float.BYTES);
    }

    /** The gradient alone, as a host segment of exactly {@code size} floats (host memory only). */
    public MemorySegment gradSlice() {
        return HostDevice.segment(grad).asSlice(gradOffset * Float.BYTES, size * Float.BYTES);
    }

    private static void check(String name, String what, DeviceBuffer buffer, long offset, long size) {
        if (offset < 0 || size < 0 || (offset + size) * Float.BYTES > buffer.bytes()) {
            throw new IllegalArgumentException("parameter " + name + ": " + size + " " + what + " floats at element "
                    + offset + " do not fit in a buffer of " + buffer.bytes() + " bytes");
        }
    }
}
