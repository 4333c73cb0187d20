package org.reflectrm.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * An allocator of a GPU's memory: each block is its own device buffer. The host's
 * {@link ScratchAllocator} carves slices from chunks instead; a device buffer cannot be sliced
 * portably (OpenCL sub-buffers need the device's base-address alignment), so this one hands out
 * whole buffers.
 *
 * <p>A {@link #release} or {@link #reset} does not free them but keeps them for the next
 * blocks of their size: a training or decode step repeats the last step's shapes, so from the
 * second step on it allocates nothing, where a device allocation per activation would cost a
 * driver call (and, for CUDA, an implicit synchronization) each. Sizes are rounded up to one of
 * eight classes per power of two (at most 12.5% more), so steps of nearby lengths (prompts of
 * 300 and 310 tokens) share blocks. What is kept is bounded: after a {@link #reset}, kept
 * blocks beyond the largest step of the last {@value #PEAK_WINDOW} resets are freed, oldest
 * first, so a stream of ever new shapes (judging prompts of every length) cannot pile up device
 * memory. {@link #close} frees everything. Not thread-safe.
 */
public final class DeviceArena implements Allocator, AutoCloseable {
    /** Resets whose largest step bounds what is kept for reuse. */
    static final int PEAK_WINDOW = 16;

    private final Device device;
    private final List<DeviceBuffer> blocks = new ArrayList<>();
    /** Kept blocks by their size class, for reuse. */
    private final Map<Long, ArrayDeque<DeviceBuffer>> free = new HashMap<>();
    /** The kept blocks, longest kept first: trimming frees from the front. */
    private final LinkedHashSet<DeviceBuffer> keptOrder = new LinkedHashSet<>();
    private final long[] recentPeaks = new long[PEAK_WINDOW];
    private int resets;
    private long bytes;
    private long keptBytes;
    private long stepPeak;

    public DeviceArena(Device device) {
        this.device = Objects.requireNonNull(device);
    }

    @Override
    public Device device() {
        return device;
    }

    /** The size a request of {@code n} bytes is served with: 256-byte steps up to 4 KiB, then eight classes per power of two. */
    static long sizeClass(long n) {
        if (n <= 4096) {
            return (Math.max(n, 1) + 255) & ~255L;
        }
        long quantum = Long.highestOneBit(n) >>> 3;
        return (n + quantum - 1) / quantum * quantum;
    }

    @Override
    public DeviceBuffer allocate(long size) {
        long n = sizeClass(size);
        ArrayDeque<DeviceBuffer> kept = free.get(n);
        DeviceBuffer b;
        if (kept == null || kept.isEmpty()) {
            b = device.allocate(n);
        } else {
            b = kept.pop();
            keptOrder.remove(b);
            keptBytes -= b.bytes();
        }
        blocks.add(b);
        bytes += b.bytes();
        stepPeak = Math.max(stepPeak, bytes);
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
            keptOrder.add(b);
            keptBytes += b.bytes();
        }
    }

    /** Ends a step: everything becomes reusable, and kept blocks beyond the recent steps' need are freed. */
    @Override
    public void reset() {
        release(0);
        recentPeaks[resets++ % PEAK_WINDOW] = stepPeak;
        stepPeak = 0;
        long budget = 0;
        for (long p : recentPeaks) {
            budget = Math.max(budget, p);
        }
        if (keptBytes > budget) {
            device.synchronize();                      // queued kernels may still use what is freed
            Iterator<DeviceBuffer> oldest = keptOrder.iterator();
            while (keptBytes > budget) {
                DeviceBuffer b = oldest.next();
                oldest.remove();
                free.get(b.bytes()).remove(b);
                keptBytes -= b.bytes();
                b.close();
            }
        }
    }

    /** Bytes handed out now (blocks kept for reuse are not counted). */
    @Override
    public long bytes() {
        return bytes;
    }

    /** Bytes kept for reuse. */
    long keptBytes() {
        return keptBytes;
    }

    /** Frees every block, handed out or kept. */
    @Override
    public void close() {
        release(0);
        keptOrder.forEach(DeviceBuffer::close);
        keptOrder.clear();
        free.clear();
        keptBytes = 0;
    }
}
