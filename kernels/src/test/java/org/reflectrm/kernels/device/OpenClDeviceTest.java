package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.opencl.OpenClDevice;

/**
 * The OpenCL device meets the contract, on whatever OpenCL device is installed (PoCL on CPU-only
 * machines and in CI). Without one the class is skipped, unless {@code REFLECTRM_REQUIRE_OPENCL=1}
 * (CI sets it), where a missing device is a failure.
 */
public class OpenClDeviceTest extends TrainingKernelsContract {

    /** Opens the first device of any type, or skips (fails, when OpenCL is required) saying why not. */
    public static OpenClDevice openOrSkip() {
        try {
            return OpenClDevice.open(false);
        } catch (DeviceException e) {
            String reason = "no OpenCL device: " + e.getMessage();
            if ("1".equals(System.getenv("REFLECTRM_REQUIRE_OPENCL"))) {
                fail(reason + " (REFLECTRM_REQUIRE_OPENCL=1)");
            }
            Assumptions.assumeTrue(false, reason);
            throw e;
        }
    }

    @Override
    protected Device open() {
        return openOrSkip();
    }

    @Test
    void listsTheDeviceItOpens() {
        List<String> devices = OpenClDevice.list();
        try (OpenClDevice device = openOrSkip()) {
            assertFalse(devices.isEmpty());
            assertEquals("opencl", device.kind());
            assertTrue(device.memoryBytes() > 0);
            // Each line is "platform / device / type / memory"; the opened device is among them.
            assertTrue(devices.stream().anyMatch(line -> line.split(" / ").length == 4));
            assertTrue(devices.stream().anyMatch(line -> device.description().contains(line.split(" / ")[1])),
                    devices + " vs " + device.description());
        }
    }

    @Test
    void listsPoclWhereItIsTheInstalledPlatform() {
        List<String> devices = OpenClDevice.list();
        Assumptions.assumeTrue(devices.stream().noneMatch(line -> line.contains(" / GPU / ")), "a GPU is installed");
        openOrSkip().close();
        assertTrue(devices.stream().anyMatch(line -> line.contains("Portable Computing Language")
                || line.toLowerCase(java.util.Locale.ROOT).contains("pocl")), devices.toString());
    }

    @Test
    void closingTwiceIsHarmlessAndUseAfterCloseFailsClearly() {
        OpenClDevice device = openOrSkip();
        DeviceBuffer b = device.allocate(64);
        device.close();
        device.close();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(64);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> device.download(b, 0, dst));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> device.allocate(4));
        }
        b.close();
        b.close();
    }

    @Test
    void aClosedBufferIsRejected() {
        try (OpenClDevice device = openOrSkip(); Arena arena = Arena.ofConfined()) {
            DeviceBuffer b = device.allocate(16);
            b.close();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> device.download(b, 0, arena.allocate(16)));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void operandsOutsideTheirBufferAreRejectedOnTheHost() {
        try (OpenClDevice device = openOrSkip(); DeviceBuffer a = device.allocate(40); DeviceBuffer b = device.allocate(40)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> device.add(a, 3, b, 0, b, 0, 8));
            assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
        }
    }

    /**
     * PoCL's LLVM replaces the JVM's SIGSEGV/SIGBUS handlers; without the signal-chaining library
     * a test JVM that loaded it died later with a bare segfault (see the surefire configuration).
     */
    @Test
    void testJvmsPreloadTheSignalChainingLibrary() {
        String preload = System.getenv("LD_PRELOAD");
        assertTrue(preload != null && preload.contains("libjsig.so"),
                "LD_PRELOAD is " + preload + ": the build must preload $JAVA_HOME/lib/libjsig.so into test JVMs");
    }
}
