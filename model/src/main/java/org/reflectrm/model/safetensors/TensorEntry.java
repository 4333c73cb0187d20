package org.reflectrm.model.safetensors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.reflectrm.kernels.DType;

/**
 * One tensor of a safetensors file: its stored type and shape and a read-only view of exactly its
 * bytes inside the file's memory mapping (little-endian, row-major). The view is valid until the
 * {@link SafetensorsFile} (or {@link Checkpoint}) that produced it is closed.
 *
 * <p>The shape is {@code long[]} because safetensors stores dimensions as 64-bit unsigned
 * integers and memory segments are addressed with {@code long}; callers that index with
 * {@code int} convert with {@link Math#toIntExact}. {@link #shape()} returns a copy.
 *
 * @param name the tensor's key in the header
 * @param file the file it is stored in, as given to {@link SafetensorsFile#open}; for messages
 */
public record TensorEntry(String name, DType dtype, long[] shape, MemorySegment data, String file) {

    public TensorEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(file, "file");
        shape = shape.clone();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor " + Text.quote(name) + ": negative dimension in shape "
                        + Arrays.toString(shape));
            }
        }
        var bytes = Shapes.byteSize(dtype, shape);
        if (bytes.isEmpty() || bytes.getAsLong() != data.byteSize()) {
            throw new IllegalArgumentException("tensor " + Text.quote(name) + ": data has " + data.byteSize()
                    + " bytes but " + Shapes.describe(dtype, shape) + " needs "
                    + (bytes.isPresent() ? bytes.getAsLong() : "more than 2^63"));
        }
        if (!data.isReadOnly()) {
            data = data.asReadOnly();
        }
    }

    /** A copy of the dimensions; empty for a scalar. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    /** Number of elements: the product of the dimensions, 1 for a scalar, 0 if any dimension is 0. */
    public long numel() {
        return Shapes.numel(shape).orElseThrow();
    }

    /** Bytes of tensor data ({@code numel() × dtype().byteSize()}). */
    public long byteSize() {
        return data.byteSize();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
                && data.equals(e.data) && file.equals(e.file);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), data, file);
    }

    @Override
    public String toString() {
        return "TensorEntry[" + name + " " + Shapes.describe(dtype, shape) + ", " + data.byteSize() + " bytes in "
                + file + "]";
    }
}
