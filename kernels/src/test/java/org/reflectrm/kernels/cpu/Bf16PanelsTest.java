package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Repacked BF16 linear layers against a double-precision product of the same BF16 values: row
 * counts around the 8-row tile, panels split across threads, a weight at an offset, k not a
 * multiple of the lanes.
 */
class Bf16PanelsTest {
    @ParameterizedTest(name = "m={0} n={1} k={2} threads={3}")
    @CsvSource({"1, 32, 64, 1", "2, 96, 100, 2", "7, 64, 1024, 2", "8, 4096, 64, 2", "9, 160, 33, 1",
        "17, 256, 300, 2", "31, 32, 7, 2"})
    void matchesADoubleProduct(int m, int n, int k, int threads) {
        Random rnd = new Random(m * 131 + n * 7 + k);
        long off = 5;
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(threads)) {
            MemorySegment w = arena.allocate(2L * (off + (long) n * k), 64);
            float[] wv = new float[n * k];
            for (int i = 0; i < n * k; i++) {
                short bits = (short) (Float.floatToRawIntBits((float) rnd.nextGaussian()) >>> 16);
                w.setAtIndex(ValueLayout.JAVA_SHORT, off + i, bits);
                wv[i] = Float.intBitsToFloat(bits << 16);
            }
            MemorySegment a = arena.allocate(4L * (3 + (long) m * k), 64);
            float[] av = new float[m * k];
            for (int i = 0; i < m * k; i++) {
                av[i] = (float) rnd.nextGaussian();
                a.setAtIndex(ValueLayout.JAVA_FLOAT, 3 + i, av[i]);
            }
            MemorySegment c = arena.allocate(4L * (2 + (long) m * n + 1), 64);
            c.fill((byte) 0x7f);   // junk: every output must be written
            Bf16Panels panels = Bf16Panels.pack(w, off, n, k, arena);
            cpu.matmul(a, 3, panels, c, 2, m);
            for (int r = 0; r < m; r++) {
                for (int j = 0; j < n; j++) {
                    double want = 0, scale = 0;
                    for (int p = 0; p < k; p++) {
                        want += (double) av[r * k + p] * wv[j * k + p];
                        scale += Math.abs((double) av[r * k + p] * wv[j * k + p]);
                    }
                    float got = c.getAtIndex(ValueLayout.JAVA_FLOAT, 2 + (long) r * n + j);
                    assertEquals(want, got, 1e-5 * scale + 1e-6, "row " + r + " column " + j);
                }
            }
            assertEquals(0x7f7f7f7f, c.getAtIndex(ValueLayout.JAVA_INT, 2 + (long) m * n), "past the end");
        }
    }

    @Test
    void refusesColumnsThatDoNotFillPanels() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * 48 * 8, 64);
            assertThrows(IllegalArgumentException.class, () -> Bf16Panels.pack(w, 0, 48, 8, arena));
        }
    }
}
