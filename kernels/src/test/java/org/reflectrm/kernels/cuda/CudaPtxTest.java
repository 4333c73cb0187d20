package org.reflectrm.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.device.DeviceException;

/**
 * Runs everywhere: the committed PTX declares every kernel the Java side launches, with the
 * parameter list the launches pack, for the architecture its name says; and without a driver
 * the device reports it instead of failing obscurely.
 */
class CudaPtxTest {
    private static final Pattern ENTRY = Pattern.compile("\\.visible\\s+\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)");

    private static String ptx(String name) throws IOException {
        try (InputStream in = CudaContext.class.getResourceAsStream(name)) {
            assertNotNull(in, "resource " + name + " is missing (run kernels/src/main/cuda/make-ptx.sh)");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** Entry name to its parameter types as signature letters (u64 is a pointer or a long long). */
    private static Map<String, String> entries(String ptx) {
        Map<String, String> entries = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            StringBuilder sig = new StringBuilder();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                sig.append(switch (p.group(1)) {
                    case "u64", "s64", "b64" -> 'P';
                    case "u32", "s32", "b32" -> 'i';
                    case "f32" -> 'f';
                    default -> '?';
                });
            }
            entries.put(m.group(1), sig.toString());
        }
        return entries;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"reflectrm_kernels.compute_75.ptx, sm_75", "reflectrm_kernels.compute_90.ptx, sm_90"})
    void declaresEveryLaunchedKernel(String resource, String target) throws IOException {
        String ptx = ptx(resource);
        assertTrue(Pattern.compile("(?m)^\\.target\\s+" + target + "\\b").matcher(ptx).find(),
                resource + " should target " + target);
        assertTrue(Pattern.compile("(?m)^\\.address_size\\s+64\\b").matcher(ptx).find(), resource + ": 64-bit addresses");
        Map<String, String> entries = entries(ptx);
        for (Kernel k : Kernel.values()) {
            String have = entries.get(k.symbol);
            assertNotNull(have, resource + " lacks .entry " + k.symbol + " (regenerate the PTX)");
            String want = k.signature.replace('p', 'P').replace('l', 'P');
            assertEquals(want, have, resource + ": parameters of " + k.symbol + " (P = 64-bit, i = 32-bit int, f = float)");
        }
        assertEquals(Kernel.symbols().size(), Kernel.symbols().stream().distinct().count(), "kernel names are unique");
    }

    @Test
    void portableAndHopperPtxAreTheSameSource() throws IOException {
        // Both come from one .cu with the same flags: only the .target line may differ.
        String portable = ptx("reflectrm_kernels.compute_75.ptx").replaceFirst("\\.target\\s+sm_75", "");
        String hopper = ptx("reflectrm_kernels.compute_90.ptx").replaceFirst("\\.target\\s+sm_90", "");
        assertEquals(entries(portable), entries(hopper));
        assertTrue(!portable.contains("/work/") && !portable.toLowerCase(Locale.ROOT).contains(".file\t"),
                "PTX names no source path");
    }

    @Test
    void withoutDriverTheDeviceSaysSo() {
        List<String> gpus = assertDoesNotThrow(CudaDevice::list);
        if (gpus.isEmpty()) {
            DeviceException e = assertThrows(DeviceException.class, () -> CudaDevice.open(0));
            assertTrue(e.getMessage().contains("driver"), e.getMessage());
        } else {
            DeviceException e = assertThrows(DeviceException.class, () -> CudaDevice.open(gpus.size()));
            assertTrue(e.getMessage().contains("no CUDA device " + gpus.size()), e.getMessage());
        }
        assertThrows(DeviceException.class, () -> CudaDevice.open(-1));
    }
}
