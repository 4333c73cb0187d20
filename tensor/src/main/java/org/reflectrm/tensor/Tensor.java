package org.reflectrm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * A dense, row-major view of a device's memory: a {@link DeviceBuffer}, an element offset into it,
 * a shape and a dtype. On the CPU the buffer is host memory (off-heap, or a memory-mapped
 * checkpoint, wrapped without a copy by {@link HostDevice#wrap}); on a GPU it is device memory,
 * and reading an element is a download. The tensor never owns its memory (the allocator or
 * arena that made it does). Views ({@link #rows}, {@link #reshape}) share memory.
 *
 * <p>Under autograd a tensor that needs a gradient carries a {@link GradSlot}, shared with its
 * views; inference tensors have none and pay nothing for it.
 */
public final class Tensor {
    private final DeviceBuffer buffer;
    private final long offset;
    private final int[] shape;
    private final DType dtype;
    private final GradSlot slot;

    /** A tensor over host memory (mapped weights, an arena's memory), which stays the caller's. */
    public Tensor(MemorySegment segment, long offset, DType dtype, int... shape) {
        this(HostDevice.wrap(segment), offset, dtype, null, shape);
    }

    /** A tensor over a device's buffer. */
    public Tensor(DeviceBuffer buffer, long offset, DType dtype, int... shape) {
        this(buffer, offset, dtype, null, shape);
    }

    private Tensor(DeviceBuffer buffer, long offset, DType dtype, GradSlot slot, int... shape) {
        this.slot = slot;
        this.buffer = buffer;
        this.offset = offset;
        this.dtype = dtype;
        this.shape = shape.clone();
        long needed = dtype.bytes(offset + numel());
        if (offset < 0 || needed > buffer.bytes()) {
            throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " " + dtype + " at element "
                    + offset + " does not fit in a buffer of " + buffer.bytes() + " bytes");
        }
    }

    /** The memory the tensor is a view of. */
    public DeviceBuffer buffer() {
        return buffer;
    }

    /** Whether the tensor is in host memory, where {@link #segment} reaches it without a transfer. */
    public boolean onHost() {
        return HostDevice.isHost(buffer);
    }

    /** The host memory of a tensor {@link #onHost}; a tensor on a GPU has none (download it). */
    public MemorySegment segment() {
        if (!onHost()) {
            throw new IllegalStateException(this + " is in device memory (" + buffer + "), not host memory");
        }
        return HostDevice.segment(buffer);
    }

    /** Offset of the first element, in elements of {@link #dtype()}. */
    public long offset() {
        return offset;
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public long numel() {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    /** Number of rows when viewed as a matrix {@code [numel / lastDim, lastDim]}. */
    public int rows() {
        return shape.length == 0 ? 1 : (int) (numel() / shape[shape.length - 1]);
    }

    /** A view with another shape of the same element count. */
    public Tensor reshape(int... newShape) {
        long n = 1;
        for (int s : newShape) {
            n *= s;
        }
        if (n != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new Tensor(buffer, offset, dtype, slot, newShape);
    }

    /** Rows {@code [from, to)} along the first axis, as a view. */
    public Tensor rows(int from, int to) {
        if (from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + Arrays.toString(shape));
        }
        long rowSize = numel() / Math.max(1, shape[0]);
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(buffer, offset + from * rowSize, dtype, slot, s);
    }

    /**
     * The matrices {@code parts} seen as one, stacked along the first axis: a view, when they
     * lie one after another in one buffer with one dtype and one row length (as
     * {@link DeviceTensors#uploadStacked} puts them); null otherwise. A fused kernel then reads
     * them in one pass, e.g. q, k and v projections as one QKV matrix. The view carries no
     * gradient: it is for inference, also over parameters.
     */
    public static Tensor stacked(Tensor... parts) {
        Tensor first = parts[0];
        int rows = 0;
        long next = first.offset;
        for (Tensor t : parts) {
            if (t.rank() != 2 || t.buffer != first.buffer || t.dtype != first.dtype || t.dim(1) != first.dim(1)
                    || t.offset != next) {
                return null;
            }
            rows += t.dim(0);
            next += t.numel();
        }
        return new Tensor(first.buffer, first.offset, first.dtype, null, rows, first.dim(1));
    }

    /**
     * A parameter: a view of {@code value} whose gradient accumulates into {@code grad} (F32,
     * same element count), which the caller owns and zeroes between optimizer steps.
     */
    public static Tensor parameter(Tensor value, Tensor grad) {
        if (grad.dtype() != DType.F32 || grad.numel() != value.numel()) {
            throw new IllegalArgumentException("gradient " + grad + " for parameter " + value);
        }
        GradSlot slot = new GradSlot(value.offset, value.numel(), true, grad.reshape((int) grad.numel()));
        return new Tensor(value.buffer, value.offset, value.dtype, slot, value.shape);
    }

    /** Whether a gradient flows into this tensor in backward. */
    public boolean requiresGrad() {
        return slot != null;
    }

    /** The same memory, cut off from the graph: no gradient flows through it. */
    public Tensor detach() {
        return slot == null ? this : new Tensor(buffer, offset, dtype, null, shape);
    }

    /** This tensor's gradient (a view of its base's gradient), or null if none was computed. */
    public Tensor grad() {
        if (slot == null || slot.grad == null) {
            return null;
        }
        return gradView();
    }

    GradSlot slot() {
        return slot;
    }

    /** A new base tensor over the same memory whose gradient is tracked (an op's output). */
    Tensor tracked() {
        return new Tensor(buffer, offset, dtype, new GradSlot(offset, numel(), false, null), shape);
    }

    /** The view of the slot's (allocated) gradient matching this tensor. */
    Tensor gradView() {
        Tensor base = slot.grad;
        return new Tensor(base.buffer, base.offset + (offset - slot.baseOffset), DType.F32, null, shape);
    }

    /** Element {@code i} of the flattened tensor, widened to float (a download when not {@link #onHost}). */
    public float getFloat(long i) {
        long at = offset + i;
        if (!onHost()) {
            requireF32OnDevice("getFloat");
            return readDevice(at, 1)[0];
        }
        MemorySegment segment = segment();
        return switch (dtype) {
            case F32 -> segment.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
            case BF16 -> Float.intBitsToFloat((segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at));
            case Q8 -> Q8Format.get(segment, at);
            default -> throw new UnsupportedOperationException("getFloat on " + dtype);
        };
    }

    public void setFloat(long i, float v) {
        if (dtype != DType.F32) {
            throw new UnsupportedOperationException("setFloat on " + dtype);
        }
        if (onHost()) {
            segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, offset + i, v);
        } else {
            buffer.write(MemorySegment.ofArray(new float[] {v}), (offset + i) * 4);
        }
    }

    /** Copies the whole tensor to a new float array (for tests, logits and small outputs; a download off the host). */
    public float[] toFloatArray() {
        int n = Math.toIntExact(numel());
        if (!onHost()) {
            requireF32OnDevice("toFloatArray");
            return readDevice(offset, n);
        }
        float[] out = new float[n];
        if (dtype == DType.F32) {
            MemorySegment.copy(segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, offset * 4, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    /**
     * This tensor in host memory: itself when it is there already, else an F32 copy in
     * {@code arena}, read from the device in one download. How checkpoints read parameters.
     */
    public Tensor toHost(Arena arena) {
        if (onHost()) {
            return this;
        }
        requireF32OnDevice("toHost");
        long bytes = numel() * 4;
        MemorySegment copy = arena.allocate(Math.max(1, bytes), 64).asSlice(0, bytes);
        buffer.read(offset * 4, copy);
        return new Tensor(copy, 0, DType.F32, shape);
    }

    /**
     * Overwrites every element with {@code src}, which holds exactly the tensor's bytes in its
     * dtype: a copy in host memory, one upload on a device. How checkpoints restore parameters.
     */
    public void write(MemorySegment src) {
        long bytes = dtype.bytes(numel());
        if (src.byteSize() != bytes) {
            throw new IllegalArgumentException(src.byteSize() + " bytes do not fill " + this + " (" + bytes + " bytes)");
        }
        buffer.write(src, dtype.bytes(offset));
    }

    /** Device tensors are read as F32 only: weights in other types are uploaded, never read back. */
    private void requireF32OnDevice(String what) {
        if (dtype != DType.F32) {
            throw new UnsupportedOperationException(what + " on a " + dtype + " tensor in device memory");
        }
    }

    /** {@code n} F32 elements from element {@code from} of a device buffer. */
    private float[] readDevice(long from, int n) {
        float[] out = new float[n];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(4L * n, 64);
            buffer.read(from * 4, staging);
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, 0, n);
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype;
    }
}
