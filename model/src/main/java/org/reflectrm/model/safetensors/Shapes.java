package org.reflectrm.model.safetensors;

import java.util.Arrays;
import java.util.OptionalLong;
import org.reflectrm.kernels.DType;

/** Element and byte counts of shapes, with overflow reported instead of wrapped. */
final class Shapes {

    private Shapes() {
    }

    /**
     * Product of the dimensions (1 for a scalar), or empty when a dimension is negative or the
     * product exceeds {@code Long.MAX_VALUE}. Folds left like the reference reader, so a zero
     * dimension before a would-be overflow gives 0 rather than an error.
     */
    static OptionalLong numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0 || (n != 0 && d > Long.MAX_VALUE / n)) {
                return OptionalLong.empty();
            }
            n *= d;
        }
        return OptionalLong.of(n);
    }

    /** {@code numel × element size}, or empty when that is not a non-negative {@code long}. */
    static OptionalLong byteSize(DType dtype, long[] shape) {
        OptionalLong n = numel(shape);
        if (n.isEmpty() || n.getAsLong() > Long.MAX_VALUE / dtype.byteSize()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(n.getAsLong() * dtype.byteSize());
    }

    /** "F16 [4]" style, as messages show a tensor's type. */
    static String describe(DType dtype, long[] shape) {
        return dtype + " " + Arrays.toString(shape);
    }
}
