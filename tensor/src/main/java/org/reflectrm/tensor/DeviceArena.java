package org.reflectrm.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * An allocator of a GPU's memory: each block is its own device buffer, freed when a
 * {@link #release} or {@link #reset} passes back over it. The host's {@link ScratchAllocator}
 * carves slices from chunks instead; a device buffer cannot be sliced portably (OpenCL
 * sub-buffers need the device's base-address alignment), so this one trades allocation calls
 * for simplicity. Not thread-safe.
 */
public final class DeviceArena implements Allocator, AutoCloseable {
    private final Device device;
    private final List<DeviceBuffer> blocks = new ArrayList<>();
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
        DeviceBuffer b = device.allocate(Math.max(size, 1));
        blocks.add(b);
        bytes += b.bytes();
        return b;
    }

    /** The number of blocks allocated so far. */
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
            b.close();
        }
    }

    @Override
    public void reset() {
        release(0);
    }

    /** Bytes held now. */
    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        reset();
    }
}
