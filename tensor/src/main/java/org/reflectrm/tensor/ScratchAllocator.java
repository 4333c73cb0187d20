package org.reflectrm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * A bump allocator for short-lived activations: one forward step allocates freely, then
 * {@link #reset()} makes all of it reusable at once. Memory comes in chunks from the backend and
 * is kept across resets, so a steady decode loop allocates nothing after its first step.
 * Tensors handed out before a reset must not be used after it. Host memory: its ops run on a
 * {@link HostDevice} over the backend, and each block is a {@link HostDevice#wrap} of a chunk's
 * slice, so nothing is copied.
 */
public final class ScratchAllocator implements Allocator, AutoCloseable {
    private static final long ALIGN = 64;

    private final Backend backend;
    private final HostDevice device;
    private final Arena arena = Arena.ofShared();
    private final long chunkBytes;
    private final List<MemorySegment> chunks = new ArrayList<>();
    private int chunk;
    private long used;

    public ScratchAllocator(Backend backend, long chunkBytes) {
        this(new HostDevice(backend), chunkBytes);
    }

    /** Scratch whose ops run on {@code device} (which may record, or run the fused forward). */
    public ScratchAllocator(HostDevice device, long chunkBytes) {
        this.backend = device.backend();
        this.device = device;
        this.chunkBytes = chunkBytes;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        return HostDevice.wrap(slice(bytes));
    }

    /** The host memory of a new block (what {@link #allocate} wraps). */
    public MemorySegment slice(long bytes) {
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN;
        while (chunk < chunks.size()) {
            MemorySegment current = chunks.get(chunk);
            if (used + size <= current.byteSize()) {
                MemorySegment slice = current.asSlice(used, bytes);
                used += size;
                return slice;
            }
            chunk++;
            used = 0;
        }
        MemorySegment fresh = backend.allocate(arena, Math.max(chunkBytes, size));
        chunks.add(fresh);
        chunk = chunks.size() - 1;
        used = size;
        return fresh.asSlice(0, bytes);
    }

    @Override
    public void reset() {
        chunk = 0;
        used = 0;
    }

    /** Bits of a mark that hold the offset within a chunk (chunks are below 2^40 bytes). */
    private static final int OFFSET_BITS = 40;

    @Override
    public long mark() {
        return ((long) chunk << OFFSET_BITS) | used;
    }

    @Override
    public void release(long mark) {
        int markChunk = (int) (mark >>> OFFSET_BITS);
        long markUsed = mark & ((1L << OFFSET_BITS) - 1);
        if (markChunk > chunk || (markChunk == chunk && markUsed > used)) {
            throw new IllegalArgumentException("release to a mark past the current position");
        }
        chunk = markChunk;
        used = markUsed;
    }

    /** Bytes held from the backend. */
    @Override
    public long bytes() {
        return chunks.stream().mapToLong(MemorySegment::byteSize).sum();
    }

    @Override
    public void close() {
        arena.close();
    }
}
