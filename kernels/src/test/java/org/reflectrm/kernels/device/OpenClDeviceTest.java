package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import org.reflectrm.kernels.AttentionShape;
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

    @Test
    void attentionBackwardRefusesAHeadDimItsKernelsCannotHold() {
        AttentionShape s = new AttentionShape(2, 0, 2, 1, 256, 0.0625f);
        try (OpenClDevice device = openOrSkip(); DeviceBuffer b = device.allocate(4L * 2 * 2 * 256)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> device.attentionBackward(b, 0, b, 0, b, 0, b, 0, b, 0, b, 0, b, 0, b, 0, s));
            assertTrue(e.getMessage().contains("head_dim"), e.getMessage());
        }
    }

    /**
     * No atomics and a fixed order per gradient element: a rerun gives the same bits. And the
     * first token sees one key, so its softmax gradient, hence its dq, is exactly 0.
     */
    @Test
    void attentionBackwardIsBitReproducible() {
        int tokens = 130, heads = 4, kvHeads = 2, d = 64;
        int n = tokens * heads * d, kv = tokens * kvHeads * d;
        AttentionShape s = new AttentionShape(tokens, 0, heads, kvHeads, d, 0.125f);
        MemorySegment hq = host(DType.F32, gaussian(n)), hk = host(DType.F32, gaussian(kv));
        MemorySegment hv = host(DType.F32, gaussian(kv)), hdo = host(DType.F32, gaussian(n));
        MemorySegment hout = host(DType.F32, new float[n]);
        cpu.attention(hq, PAD, hk, PAD, hv, PAD, hout, PAD, s);
        float[][] runs = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (DeviceBuffer q = onDevice(hq); DeviceBuffer k = onDevice(hk); DeviceBuffer v = onDevice(hv);
                 DeviceBuffer out = onDevice(hout); DeviceBuffer dOut = onDevice(hdo);
                 DeviceBuffer dq = onDevice(host(DType.F32, new float[n]));
                 DeviceBuffer dk = onDevice(host(DType.F32, new float[kv]));
                 DeviceBuffer dv = onDevice(host(DType.F32, new float[kv]))) {
                device.attentionBackward(q, PAD, k, PAD, v, PAD, out, PAD, dOut, PAD, dq, PAD, dk, PAD, dv, PAD, s);
                float[] gq = readDevice(dq, n), gk = readDevice(dk, kv), gv = readDevice(dv, kv);
                for (int i = 0; i < heads * d; i++) {
                    assertEquals(0f, gq[i], "dq of the first token, element " + i);
                }
                runs[run] = new float[n + 2 * kv];
                System.arraycopy(gq, 0, runs[run], 0, n);
                System.arraycopy(gk, 0, runs[run], n, kv);
                System.arraycopy(gv, 0, runs[run], n + kv, kv);
            }
        }
        assertArrayEquals(runs[0], runs[1]);
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
