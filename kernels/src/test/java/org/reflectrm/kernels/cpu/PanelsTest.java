package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.DType;

/**
 * Repacked BF16 and 8-bit linear layers against a double-precision product of the weights'
 * exact values (BF16 widened, Q8 dequantised from the raw bytes as {@code q · s} in F32): row
 * counts around the 8-row tile, panels split across threads, operands at offsets, and for BF16
 * k not a multiple of the lanes (8-bit rows are whole 32-value blocks).
 */
class PanelsTest {
    private static final long A_OFF = 3, C_OFF = 2;

    /** Element offset of the weight: any for BF16, whole blocks for Q8. */
    private static int weightOffset(DType type) {
        return type == DType.Q8 ? 64 : 5;
    }

    @ParameterizedTest(name = "{0} m={1} n={2} k={3} threads={4}")
    @CsvSource({"BF16, 1, 32, 64, 1", "BF16, 2, 96, 100, 2", "BF16, 7, 64, 1024, 2", "BF16, 8, 4096, 64, 2",
        "BF16, 9, 160, 33, 1", "BF16, 17, 256, 300, 2", "BF16, 31, 32, 7, 2",
        "Q8, 1, 32, 32, 1", "Q8, 3, 64, 96, 1", "Q8, 3, 64, 96, 2", "Q8, 7, 96, 1024, 2", "Q8, 8, 4096, 64, 2",
        "Q8, 8, 32, 32, 1", "Q8, 9, 160, 320, 1", "Q8, 9, 160, 320, 2", "Q8, 16, 256, 128, 2", "Q8, 31, 32, 64, 1",
        "Q8, 31, 128, 3072, 2"})
    void matchesADoubleProduct(DType type, int m, int n, int k, int threads) {
        Random rnd = new Random(m * 131 + n * 7 + k);
        int off = weightOffset(type);
        try (Arena arena = Arena.ofShared(); CpuBackend cpu = new CpuBackend(threads)) {
            Ref.Weights w = Ref.weights(arena, rnd, n * k, type, off);
            float[] av = Ref.gaussian(rnd, m * k);
            MemorySegment a = Ref.f32(arena, av, (int) A_OFF);
            MemorySegment c = arena.allocate(4L * (C_OFF + (long) m * n + 1), 64);
            c.fill((byte) 0x7f);   // junk: every output must be written
            cpu.matmul(a, A_OFF, Panels.pack(type, w.seg(), off, n, k, arena), c, C_OFF, m);
            double[] want = new double[m * n];
            double[] scale = new double[m * n];
            for (int r = 0; r < m; r++) {
                for (int j = 0; j < n; j++) {
                    for (int p = 0; p < k; p++) {
                        double t = (double) av[r * k + p] * w.values()[j * k + p];
                        want[r * n + j] += t;
                        scale[r * n + j] += Math.abs(t);
                    }
                }
            }
            Ref.assertClose(want, scale, Ref.read(c, C_OFF, m * n), Ref.TOL, type + " panels m=" + m);
            assertEquals(0x7f7f7f7f, c.getAtIndex(ValueLayout.JAVA_INT, C_OFF + (long) m * n), "past the end");
        }
    }

    /** Widened steps, as the GEMM packs them: exactly the weights' values, from any step on. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "Q8"})
    void widenedStepsAreTheWeightsValues(DType type) {
        int n = 64, k = 96, off = weightOffset(type);
        try (Arena arena = Arena.ofShared()) {
            Ref.Weights w = Ref.weights(arena, new Random(5), n * k, type, off);
            Panels panels = Panels.pack(type, w.seg(), off, n, k, arena);
            for (int[] range : new int[][] {{0, k}, {7, 50}, {31, 2}, {33, 63}}) {
                int p0 = range[0], pk = range[1];
                float[] got = new float[pk * Panels.COLUMNS + 1];
                panels.widen(1, p0, pk, got, 1);
                for (int p = 0; p < pk; p++) {
                    for (int j = 0; j < Panels.COLUMNS; j++) {
                        assertEquals(w.values()[(Panels.COLUMNS + j) * k + p0 + p], got[1 + p * Panels.COLUMNS + j],
                                "step " + (p0 + p) + " column " + j);
                    }
                }
            }
        }
    }

    /** Threads split panels, never a sum: the same bytes on one thread and on two. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "Q8"})
    void theSameBytesOnAnyThreadCount(DType type) {
        int m = 11, n = 640, k = 512, off = weightOffset(type);
        try (Arena arena = Arena.ofShared(); CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2)) {
            Random rnd = new Random(8);
            Ref.Weights w = Ref.weights(arena, rnd, n * k, type, off);
            Panels panels = Panels.pack(type, w.seg(), off, n, k, arena);
            MemorySegment a = Ref.f32(arena, Ref.gaussian(rnd, m * k), 0);
            MemorySegment c1 = arena.allocate(4L * m * n), c2 = arena.allocate(4L * m * n);
            one.matmul(a, 0, panels, c1, 0, m);
            two.matmul(a, 0, panels, c2, 0, m);
            assertArrayEquals(c1.toArray(ValueLayout.JAVA_BYTE), c2.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void refusesShapesThatDoNotFillPanelsOrBlocks() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(2L * 64 * 64, 64);
            assertThrows(IllegalArgumentException.class, () -> Bf16Panels.pack(w, 0, 48, 8, arena));
            assertThrows(IllegalArgumentException.class, () -> Q8Panels.pack(w, 0, 48, 32, arena));
            assertThrows(IllegalArgumentException.class, () -> Q8Panels.pack(w, 0, 32, 48, arena));
            assertThrows(IllegalArgumentException.class, () -> Q8Panels.pack(w, 16, 32, 32, arena));
        }
    }
}
