package org.reflectrm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * Tensors that live on one device for a whole run (weights, parameters, their gradients), and
 * own their memory there until {@link #close}. {@link #upload} copies a host tensor once; on the
 * host device nothing is copied, so mapped weights stay mapped. On the host all blocks come from
 * one arena, freed at once: closing an arena per block would cost a thread handshake each.
 */
public final class DeviceTensors implements AutoCloseable {
    private final Device device;
    private final Arena hostArena;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private long bytes;

    public DeviceTensors(Device device) {
        this.device = Objects.requireNonNull(device);
        this.hostArena = device instanceof HostDevice ? Arena.ofShared() : null;
    }

    public Device device() {
        return device;
    }

    /** Whether tensors in host memory are already this device's (the host device reads them in place). */
    public boolean onHost() {
        return device instanceof HostDevice;
    }

    /**
     * {@code t} on this device: itself when it is there already (or this is the host), else a
     * copy in its stored dtype. 8-bit weights stay on the host: the GPU kernels do not read them.
     */
    public Tensor upload(Tensor t) {
        if (onHost() || !t.onHost()) {
            return t;
        }
        DType type = t.dtype();
        if (!type.isGpuComputeType()) {
            throw new IllegalArgumentException(t + ": dtype " + type + " cannot be computed with on the "
                    + device.kind() + " device (need F32, F16 or BF16)");
        }
        long n = type.bytes(t.numel());
        DeviceBuffer b = allocate(n);
        MemorySegment src = t.segment().asSlice(type.bytes(t.offset()), n);
        device.upload(src, b, 0);
        return new Tensor(b, 0, type, t.shape());
    }

    /**
     * {@code parts} on this device one after another in one buffer, so that
     * {@link Tensor#stacked} sees them as one matrix (a fused projection reads q, k and v, or
     * gate and up, in one launch); each stays its own tensor, a view. Parts that cannot share a
     * buffer (dtypes that differ), or that need not (the host, unless it runs the fused forward),
     * are uploaded one by one: on the host, not copied at all.
     */
    public List<Tensor> uploadStacked(Tensor... parts) {
        DType type = parts[0].dtype();
        boolean stackable = !onHost() || device.fusesForward();
        for (Tensor t : parts) {
            stackable &= t.onHost() && t.dtype() == type && type.isGpuComputeType();
        }
        List<Tensor> out = new ArrayList<>(parts.length);
        if (!stackable) {
            for (Tensor t : parts) {
                out.add(upload(t));
            }
            return out;
        }
        long total = 0;
        for (Tensor t : parts) {
            total += type.bytes(t.numel());
        }
        DeviceBuffer b = allocate(total);
        long at = 0;
        for (Tensor t : parts) {
            long n = type.bytes(t.numel());
            device.upload(t.segment().asSlice(type.bytes(t.offset()), n), b, type.bytes(at));
            out.add(new Tensor(b, at, type, t.shape()));
            at += t.numel();
        }
        return out;
    }

    /**
     * A new F32 tensor on this device holding {@code t}'s values (any computable dtype, widened).
     * Widening every row of a matrix is an embedding lookup of all its rows, so the device's
     * vectorised, parallel converter does it after one upload of the stored bytes.
     */
    public Tensor widened(Tensor t) {
        Tensor value = zeros(t.shape());
        widenInto(t, value);
        return value;
    }

    /** Writes {@code t}'s values, widened, into {@code value}, an F32 tensor on this device of as many elements. */
    public void widenInto(Tensor t, Tensor value) {
        if (value.dtype() != DType.F32 || value.numel() != t.numel()) {
            throw new IllegalArgumentException("cannot widen " + t + " into " + value);
        }
        Tensor source = upload(t);
        int dim = source.rank() == 0 ? 1 : source.dim(-1);
        int rows = (int) (source.numel() / dim);
        int[] ids = java.util.stream.IntStream.range(0, rows).toArray();
        try (DeviceBuffer idBuffer = device.allocate(4L * Math.max(1, rows))) {
            device.upload(MemorySegment.ofArray(ids), idBuffer, 0);
            device.embedding(source.buffer(), source.offset(), source.dtype(), dim, idBuffer, 0, rows,
                    value.buffer(), value.offset());
            device.synchronize();                 // the ids are freed on return
        }
    }

    /** A new F32 tensor of zeros on this device. */
    public Tensor zeros(int... shape) {
        return zeros(DType.F32, shape);
    }

    /** A new tensor of zeros of {@code type} (F32, or BF16 for a half-size KV cache) on this device. */
    public Tensor zeros(DType type, int... shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return new Tensor(allocate(type.bytes(Math.max(1, n))), 0, type, shape);   // device memory comes zeroed
    }

    private DeviceBuffer allocate(long size) {
        bytes += size;
        if (hostArena != null) {
            return HostDevice.wrap(((HostDevice) device).backend().allocate(hostArena, size));   // zeroed
        }
        DeviceBuffer b = device.allocate(size);
        owned.add(b);
        return b;
    }

    /** Bytes of device memory held. */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        owned.forEach(DeviceBuffer::close);
        owned.clear();
        if (hostArena != null && hostArena.scope().isAlive()) {
            hostArena.close();
        }
        bytes = 0;
    }
}
