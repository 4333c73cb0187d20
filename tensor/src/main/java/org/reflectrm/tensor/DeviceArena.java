package org.reflectrm.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * An allocator of a GPU's memory: each block is its own device buffer. The host's
 * {@link ScratchAllocator} carves slices from chunks instead; a device buffer cannot be sliced
 * portably (OpenCL sub-buffers need the device's base-address alignment), so this one hands out
 * whole buffers. A {@link #release} or {@link #reset} does not free them but keeps them, by size,
 * for the next blocks of that size: a training or decode step repeats the last step's shapes, so
 * from the second step on it allocates nothing, where a device allocation per activation would
 * cost a driver call (and, for CUDA, an implicit synchronization) each. The memory held is the
 * largest step's; {@link #close} frees it. Not thread-safe.
 */
public final class DeviceArena implements Allocator, AutoCloseable {
    private final Device device;
    private final List<DeviceBuffer> blocks = new ArrayList<>();
    /** Released blocks, by their size in bytes, for reuse. */
    private final Map<Long, ArrayDeque<DeviceBuffer>> free = new HashMap<>();
    private long bytes;

    public DeviceArena(Device device) {
        this.device = Objects.requireNonNull(device);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public DeviceBuffer allocate(long size) {
        long n = Math.max(size, 1);
        ArrayDeque<DeviceBuffer> kept = free.get(n);
        DeviceBuffer b = kept == null || kept.isEmpty() ? device.allocate(n) : kept.pop();
        blocks.add(b);
        bytes += b.bytes();
        return b;
    }

    /** The number of blocks handed out so far. */
    @Override
    public long mark() {
        return blocks.size();
    }

    @Override
    public void release(long mark) {
        if (mark < 0 || mark > blocks.size()) {
            throw new IllegalArgumentException("release to mark " + mark + " of " + blocks.size() + " blocks");
        }
        while (blocks.size() > mark) {
            DeviceBuffer b = blocks.remove(blocks.size() - 1);
            bytes -= b.bytes();
            free.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).push(b);
        }
    }

    @Override
    public void reset() {
        release(0);
    }

    /** Bytes handed out now (blocks kept for reuse are not counted). */
    @Override
    public long bytes() {
        return bytes;
    }

    /** Frees every block, handed out or kept. */
    @Override
    public void close() {
        reset();
        free.values().forEach(kept -> kept.forEach(DeviceBuffer::close));
        free.clear();
    }
}
