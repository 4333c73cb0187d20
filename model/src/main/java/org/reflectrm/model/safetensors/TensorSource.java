package org.reflectrm.model.safetensors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.reflectrm.kernels.DType;

/**
 * A tensor to write: its name, type, shape and exactly its bytes (little-endian, row-major), which
 * {@link SafetensorsWriter} copies to the file as they are. The segment may be on the heap, native
 * or another file's mapping. The shape is copied; {@link #shape()} returns a copy.
 *
 * @throws IllegalArgumentException when a dimension is negative or the data size is not
 *     {@code numel × dtype.byteSize()}
 */
public record TensorSource(String name, DType dtype, long[] shape, MemorySegment data) {

    public TensorSource {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        if (dtype == DType.Q8) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + ": Q8 is stored as U8 bytes, not as a safetensors dtype");
        }
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor " + Text.quote(name) + ": negative dimension in shape "
                        + Arrays.toString(shape));
            }
        }
        var bytes = Shapes.byteSize(dtype, shape);
        if (bytes.isEmpty()) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + ": " + Shapes.describe(dtype, shape)
                    + " has more bytes than fit in 64 bits");
        }
        if (bytes.getAsLong() != data.byteSize()) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + ": data has " + data.byteSize()
                    + " bytes but " + Shapes.describe(dtype, shape) + " needs " + bytes.getAsLong());
        }
    }

    /** Re-saves a tensor read from a checkpoint, without copying its bytes first. */
    public static TensorSource of(TensorEntry e) {
        return new TensorSource(e.name(), e.dtype(), e.shape(), e.data());
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return data.byteSize();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSource s && name.equals(s.name) && dtype == s.dtype && Arrays.equals(shape, s.shape)
                && data.equals(s.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), data);
    }

    @Override
    public String toString() {
        return "TensorSource[" + name + " " + Shapes.describe(dtype, shape) + "]";
    }
}
