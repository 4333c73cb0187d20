package org.reflectrm.tensor;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * Where ops get memory for their results: memory of one {@link Device}, on which the ops then
 * run ({@link Ops} takes its device from its allocator).
 */
public interface Allocator extends AutoCloseable {
    /**
     * Scratch for the activations of ops on {@code device}: a {@link ScratchAllocator} of host
     * memory in chunks of {@code hostChunkBytes} on the host, a {@link DeviceArena} on a GPU.
     */
    static Allocator scratch(Device device, long hostChunkBytes) {
        return device instanceof HostDevice host ? new ScratchAllocator(host, hostChunkBytes)
                : new DeviceArena(device);
    }

    /** The device whose memory this allocator hands out. */
    Device device();

    /**
     * At least {@code bytes} of the device's memory, 64-byte aligned, zeroed or garbage; callers
     * overwrite it. The buffer stays the allocator's: callers never close it.
     */
    DeviceBuffer allocate(long bytes);

    /**
     * A position to {@link #release} back to. Allocators that cannot reuse memory early (an
     * arena that must keep activations for a backward pass) return any value and ignore release.
     */
    default long mark() {
        return 0;
    }

    /**
     * Makes everything allocated since {@code mark} reusable; tensors allocated after the mark
     * must not be used afterwards. Allocators that cannot reuse memory early do nothing.
     */
    default void release(long mark) {
    }

    /** Bytes of memory the allocator holds now (for reports). */
    long bytes();

    /** Makes all memory reusable (or frees it); every tensor allocated so far becomes invalid. */
    void reset();

    /** Frees the memory; no tensor of this allocator may be used after. */
    @Override
    void close();
}
