package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/** Released blocks are reused by size, the device's memory is not freed before close, and close frees all. */
class DeviceArenaTest {
    @Test
    void aRepeatedStepAllocatesNothingNew() {
        try (CpuBackend backend = new CpuBackend(1); Device device = new HostDevice(backend)) {
            long before = device.allocations().live();
            try (DeviceArena arena = new DeviceArena(device)) {
                DeviceBuffer a = arena.allocate(1000);
                long mark = arena.mark();
                DeviceBuffer b = arena.allocate(4000);
                DeviceBuffer c = arena.allocate(4000);
                assertEquals(9000, arena.bytes());
                arena.release(mark);
                assertEquals(1000, arena.bytes());
                // The next step asks for the same sizes: it gets the same buffers back.
                DeviceBuffer b2 = arena.allocate(4000);
                DeviceBuffer c2 = arena.allocate(4000);
                assertEquals(java.util.Set.of(b, c), java.util.Set.of(b2, c2), "the kept buffers are handed out again");
                assertEquals(before + 9000, device.allocations().live(), "nothing new on the device");
                DeviceBuffer d = arena.allocate(5000);                // a new size: a new buffer
                assertEquals(before + 14000, device.allocations().live());
                arena.reset();
                assertEquals(0, arena.bytes());
                assertEquals(before + 14000, device.allocations().live(), "kept for the next step");
                assertNotSame(a, d);
            }
            assertEquals(before, device.allocations().live(), "close frees every block");
        }
    }
}
