package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * Released blocks are reused by size class, a steady loop allocates nothing, steps of ever new
 * sizes do not pile up memory, and close frees all.
 */
class DeviceArenaTest {
    @Test
    void aRepeatedStepAllocatesNothingNew() {
        try (CpuBackend backend = new CpuBackend(1); Device device = new HostDevice(backend)) {
            long before = device.allocations().live();
            try (DeviceArena arena = new DeviceArena(device)) {
                DeviceBuffer a = arena.allocate(1000);
                long mark = arena.mark();
                DeviceBuffer b = arena.allocate(40_000);
                DeviceBuffer c = arena.allocate(40_000);
                assertEquals(1024 + 2 * 40_960, arena.bytes(), "1000 B rounds to 1 KiB, 40,000 B to 5 × 8 KiB");
                arena.release(mark);
                assertEquals(1024, arena.bytes());
                // The next step asks for sizes of the same classes: it gets the same buffers back.
                DeviceBuffer b2 = arena.allocate(39_000);
                DeviceBuffer c2 = arena.allocate(40_960);
                assertEquals(Set.of(b, c), Set.of(b2, c2), "the kept buffers are handed out again");
                assertEquals(before + 1024 + 2 * 40_960, device.allocations().live(), "nothing new on the device");
                DeviceBuffer d = arena.allocate(50_000);                // another class: a new buffer
                assertEquals(before + 1024 + 2 * 40_960 + 53_248, device.allocations().live());
                arena.reset();
                assertEquals(0, arena.bytes());
                assertEquals(before + 1024 + 2 * 40_960 + 53_248, device.allocations().live(), "kept for the next step");
                assertNotSame(a, d);
            }
            assertEquals(before, device.allocations().live(), "close frees every block");
        }
    }

    @Test
    void sizeClassesRoundUpByAtMostAnEighth() {
        for (long n = 1; n < 1L << 34; n = n * 3 / 2 + 7) {
            long c = DeviceArena.sizeClass(n);
            assertTrue(c >= n && (c <= n + 255 || c <= n + n / 8), n + " -> " + c);
            assertEquals(c, DeviceArena.sizeClass(c), "a class is its own class");
        }
    }

    /** A stream of steps that each use new sizes (prompts of every length) keeps a bounded amount. */
    @Test
    void stepsOfEverNewSizesDoNotPileUpMemory() {
        try (CpuBackend backend = new CpuBackend(1); Device device = new HostDevice(backend)) {
            long before = device.allocations().live();
            try (DeviceArena arena = new DeviceArena(device)) {
                long largestStep = 0;
                for (int step = 0; step < 200; step++) {
                    long size = 100_000 + 37_000L * step;           // a new size class every step or two
                    for (int i = 0; i < 3; i++) {
                        arena.allocate(size);
                    }
                    largestStep = Math.max(largestStep, arena.bytes());
                    arena.reset();
                    long held = device.allocations().live() - before;
                    assertTrue(arena.keptBytes() <= largestStep, "step " + step + " keeps " + arena.keptBytes());
                    assertEquals(arena.keptBytes(), held, "what is kept is all the device holds");
                }
                // A steady loop afterwards settles and allocates nothing.
                for (int step = 0; step < 3 * DeviceArena.PEAK_WINDOW; step++) {
                    arena.allocate(10_000);
                    arena.allocate(20_000);
                    arena.reset();
                }
                long settled = device.allocations().live();
                for (int step = 0; step < 10; step++) {
                    arena.allocate(10_000);
                    arena.allocate(20_000);
                    arena.reset();
                }
                assertEquals(settled, device.allocations().live());
                assertTrue(settled - before <= 2 * 24_576, "only the steady step's blocks are kept: " + (settled - before));
            }
            assertEquals(before, device.allocations().live());
        }
    }
}
