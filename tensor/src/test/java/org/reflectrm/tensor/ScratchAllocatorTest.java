package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;

class ScratchAllocatorTest {

    @Test
    void resetReusesTheSameMemory() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 4096)) {
            MemorySegment a = scratch.slice(100);
            MemorySegment b = scratch.slice(100);
            assertEquals(0, a.address() % 64);
            assertEquals(0, b.address() % 64);
            assertTrue(b.address() >= a.address() + 100, "allocations do not overlap");
            long held = scratch.bytes();
            scratch.reset();
            assertEquals(a.address(), scratch.slice(100).address());
            assertEquals(held, scratch.bytes(), "a steady loop allocates nothing new");
        }
    }

    @Test
    void growsByChunksAndServesOversizedRequests() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 1024)) {
            scratch.slice(1000);
            MemorySegment big = scratch.slice(10_000);
            assertEquals(10_000, big.byteSize());
            assertTrue(scratch.bytes() >= 11_000);
            scratch.reset();
            long held = scratch.bytes();
            scratch.slice(1000);
            scratch.slice(10_000);
            assertEquals(held, scratch.bytes(), "the second pass fits in the chunks of the first");
        }
    }

    @Test
    void releaseToAMarkReusesWhatCameAfterIt() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 4096)) {
            MemorySegment kept = scratch.slice(256);
            long mark = scratch.mark();
            MemorySegment first = scratch.slice(1000);
            scratch.slice(5000);                       // spills into a second chunk
            scratch.release(mark);
            MemorySegment again = scratch.slice(1000);
            assertEquals(first.address(), again.address(), "memory after the mark is handed out again");
            assertTrue(again.address() >= kept.address() + 256, "memory before the mark stays owned");
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> scratch.release(scratch.mark() + 64));
        }
    }
}
