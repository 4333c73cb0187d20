package org.reflectrm.kernels.device;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * What every {@link Device} must do: each kernel on random inputs against the CPU backend (itself
 * tested against double-precision references), fused kernels against the unfused CPU kernels in
 * sequence. Inputs sit at non-zero element offsets behind NaN padding, so a kernel that ignores
 * an offset or reads out of range fails. A device class extends this and opens its device; one
 * whose driver is absent skips visibly with {@code Assumptions} in {@link #open()}.
 *
 * <p>Tolerance: {@code |got - want| <= TOL · (max |want| over the output + 1)}, since a GPU
 * sums in another order than the CPU; F32 sums of a few thousand terms stay far inside it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DeviceContract {
    static final double TOL = 2e-4;
    protected static final int PAD = 3;

    protected Device device;
    protected Backend cpu;
    protected Arena arena;
    private final Random rnd = new Random(20261126);

    /** Opens the device under test, or skips the class with an assumption when it is absent. */
    protected abstract Device open();

    /** Why the device could not be opened; every test then reports itself skipped with it. */
    private String skipReason;

    @BeforeAll
    void start() {
        try {
            device = open();
        } catch (org.opentest4j.TestAbortedException absent) {
            skipReason = absent.getMessage();
        }
        cpu = new CpuBackend(2);
        arena = Arena.ofShared();
    }

    /** Skips each test, rather than the class, so reports count them as skipped. */
    @org.junit.jupiter.api.BeforeEach
    void requireDevice() {
        org.junit.jupiter.api.Assumptions.assumeTrue(device != null, () -> skipReason);
    }

    @AfterAll
    void stop() {
        if (device != null) {
            device.close();
        }
        if (cpu != null) {
            cpu.close();
        }
        if (arena != null) {
            arena.close();
        }
    }

    // ---- Host operands and their device copies ----

    /** A host operand: {@code PAD} NaN (or junk) elements, then the values. */
    protected MemorySegment host(DType type, float[] v) {
        MemorySegment s = arena.allocate((long) type.byteSize() * (v.length + PAD + 1), 64);
        for (int i = 0; i < v.length + PAD + 1; i++) {
            boolean pad = i < PAD || i == v.length + PAD;
            float x = pad ? Float.NaN : v[i - PAD];
            switch (type) {
                case F32 -> s.setAtIndex(JAVA_FLOAT_UNALIGNED, i, x);
                case BF16 -> s.setAtIndex(JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(x) >>> 16));
                case F16 -> s.setAtIndex(JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(x));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return s;
    }

    protected MemorySegment hostInts(int[] v) {
        MemorySegment s = arena.allocate(4L * (v.length + PAD + 1), 64);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(JAVA_INT_UNALIGNED, PAD + i, v[i]);
        }
        s.setAtIndex(JAVA_INT_UNALIGNED, 0, -1);
        return s;
    }

    protected DeviceBuffer onDevice(MemorySegment s) {
        DeviceBuffer b = device.allocate(s.byteSize());
        device.upload(s, b, 0);
        return b;
    }

    protected float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    protected static float[] readHost(MemorySegment s, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = s.getAtIndex(JAVA_FLOAT_UNALIGNED, PAD + i);
        }
        return v;
    }

    protected float[] readDevice(DeviceBuffer b, int n) {
        MemorySegment s = arena.allocate(4L * (n + PAD), 64);
        device.download(b, 0, s);
        return readHost(s, n);
    }

    protected static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double max = 0;
        for (float w : want) {
            max = Math.max(max, Math.abs(w));
        }
        double bound = TOL * (max + 1);
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= bound)) {
                fail(String.format("%s: element %d is %s, expected %s (error %.3g > %.3g)", what, i, got[i], want[i],
                        err, bound));
            }
        }
    }

    // ---- Kernels ----

    @ParameterizedTest(name = "linear {0} rows={1} out={2} in={3} acc={4}")
    @CsvSource({
        "F32, 1, 64, 128, false", "BF16, 1, 300, 257, false", "F16, 1, 96, 1024, true",
        "BF16, 3, 130, 96, true", "F32, 8, 257, 300, false", "BF16, 37, 200, 160, false",
        "F16, 70, 65, 200, true", "BF16, 129, 96, 64, true"})
    void linear(DType type, int rows, int out, int in, boolean accumulate) {
        float[] x = gaussian(rows * in), w = gaussian(out * in), y = gaussian(rows * out);
        MemorySegment hx = host(DType.F32, x), hw = host(type, w), hy = host(DType.F32, y);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dw = onDevice(hw); DeviceBuffer dy = onDevice(hy)) {
            device.linear(dx, PAD, dw, PAD, type, dy, PAD, rows, out, in, accumulate);
            cpu.matmul(hx, PAD, false, hw, PAD, type, true, hy, PAD, rows, out, in, accumulate);
            assertClose(readHost(hy, rows * out), readDevice(dy, rows * out), "linear");
        }
    }

    @ParameterizedTest(name = "rmsNormLinear {0} rows={1} out={2} in={3}")
    @CsvSource({"BF16, 1, 300, 256", "F32, 5, 64, 1024", "F16, 33, 130, 128", "BF16, 80, 96, 64"})
    void rmsNormLinear(DType type, int rows, int out, int in) {
        float[] x = gaussian(rows * in), g = gaussian(in), w = gaussian(out * in);
        MemorySegment hx = host(DType.F32, x), hg = host(type, g), hw = host(type, w);
        MemorySegment hn = host(DType.F32, new float[rows * in]), hy = host(DType.F32, new float[rows * out]);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dg = onDevice(hg); DeviceBuffer dw = onDevice(hw);
             DeviceBuffer dy = onDevice(hy)) {
            device.rmsNormLinear(dx, PAD, dg, PAD, type, 1e-6f, dw, PAD, type, dy, PAD, rows, out, in);
            cpu.rmsNorm(hx, PAD, hg, PAD, type, hn, PAD, rows, in, 1e-6f);
            cpu.matmul(hn, PAD, false, hw, PAD, type, true, hy, PAD, rows, out, in, false);
            assertClose(readHost(hy, rows * out), readDevice(dy, rows * out), "rmsNormLinear");
        }
    }

    @ParameterizedTest(name = "rmsNormGateUpSwiglu {0} rows={1} inter={2} in={3}")
    @CsvSource({"BF16, 1, 300, 256", "F32, 4, 64, 512", "F16, 20, 130, 128", "BF16, 70, 96, 64"})
    void rmsNormGateUpSwiglu(DType type, int rows, int inter, int in) {
        float[] x = gaussian(rows * in), g = gaussian(in), w = gaussian(2 * inter * in);
        MemorySegment hx = host(DType.F32, x), hg = host(type, g), hw = host(type, w);
        MemorySegment hn = host(DType.F32, new float[rows * in]);
        MemorySegment gate = host(DType.F32, new float[rows * inter]), up = host(DType.F32, new float[rows * inter]);
        MemorySegment hout = host(DType.F32, new float[rows * inter]);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dg = onDevice(hg); DeviceBuffer dw = onDevice(hw);
             DeviceBuffer dout = onDevice(hout)) {
            device.rmsNormGateUpSwiglu(dx, PAD, dg, PAD, type, 1e-6f, dw, PAD, type, dout, PAD, rows, inter, in);
            cpu.rmsNorm(hx, PAD, hg, PAD, type, hn, PAD, rows, in, 1e-6f);
            cpu.matmul(hn, PAD, false, hw, PAD, type, true, gate, PAD, rows, inter, in, false);
            cpu.matmul(hn, PAD, false, hw, PAD + (long) inter * in, type, true, up, PAD, rows, inter, in, false);
            cpu.swiglu(gate, PAD, up, PAD, hout, PAD, (long) rows * inter);
            assertClose(readHost(hout, rows * inter), readDevice(dout, rows * inter), "rmsNormGateUpSwiglu");
        }
    }

    @ParameterizedTest(name = "splitQkv rows={0} heads={1}/{2} headDim={3} start={4}")
    @CsvSource({"1, 4, 2, 64, 9", "7, 4, 2, 128, 0", "5, 16, 8, 128, 1000", "3, 2, 2, 32, 3"})
    void splitQkv(int rows, int heads, int kvHeads, int headDim, int start) {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
        float[] qkv = gaussian(rows * width), qn = gaussian(headDim), kn = gaussian(headDim);
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) {
            pos[r] = start + r;
        }
        int capacity = start + rows + 2;
        MemorySegment hqkv = host(DType.F32, qkv), hqn = host(DType.BF16, qn), hkn = host(DType.BF16, kn);
        MemorySegment hq = host(DType.F32, new float[rows * qDim]);
        MemorySegment hk = host(DType.F32, new float[capacity * kvDim]), hv = host(DType.F32, new float[capacity * kvDim]);
        MemorySegment hpos = hostInts(pos);
        try (DeviceBuffer dqkv = onDevice(hqkv); DeviceBuffer dqn = onDevice(hqn); DeviceBuffer dkn = onDevice(hkn);
             DeviceBuffer dq = onDevice(hq); DeviceBuffer dk = onDevice(hk); DeviceBuffer dv = onDevice(hv);
             DeviceBuffer dpos = onDevice(hpos)) {
            long cacheOff = PAD + (long) start * kvDim;
            device.splitQkv(dqkv, PAD, rows, heads, kvHeads, headDim, dqn, PAD, dkn, PAD, DType.BF16, 1e-6f,
                    dpos, PAD, 1_000_000f, dq, PAD, dk, cacheOff, dv, cacheOff);
            for (int r = 0; r < rows; r++) {
                long row = PAD + (long) r * width;
                cpu.copy(hqkv, row, hq, PAD + (long) r * qDim, qDim);
                cpu.copy(hqkv, row + qDim, hk, cacheOff + (long) r * kvDim, kvDim);
                cpu.copy(hqkv, row + qDim + kvDim, hv, cacheOff + (long) r * kvDim, kvDim);
            }
            cpu.rmsNorm(hq, PAD, hqn, PAD, DType.BF16, hq, PAD, rows * heads, headDim, 1e-6f);
            cpu.rmsNorm(hk, cacheOff, hkn, PAD, DType.BF16, hk, cacheOff, rows * kvHeads, headDim, 1e-6f);
            cpu.rope(hq, PAD, rows, heads, headDim, pos, 1_000_000f);
            cpu.rope(hk, cacheOff, rows, kvHeads, headDim, pos, 1_000_000f);
            assertClose(readHost(hq, rows * qDim), readDevice(dq, rows * qDim), "q");
            // Whole caches: slots other than the written ones must stay as they were (NaN/zero).
            assertSameOrClose(readHost(hk, capacity * kvDim), readDevice(dk, capacity * kvDim), "k cache");
            assertSameOrClose(readHost(hv, capacity * kvDim), readDevice(dv, capacity * kvDim), "v cache");
        }
    }

    /** As assertClose, but NaN must meet NaN. */
    protected static void assertSameOrClose(float[] want, float[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(want[i]) != Float.isNaN(got[i])) {
                fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
            }
            if (Float.isNaN(want[i])) {
                want[i] = 0;
                got[i] = 0;
            }
        }
        assertClose(want, got, what);
    }

    @ParameterizedTest(name = "embedding {0} dim={1}")
    @CsvSource({"BF16, 64", "F16, 100", "F32, 1024"})
    void embedding(DType type, int dim) {
        int vocab = 50;
        int[] ids = {3, 0, 49, 3, 17, 22, 8};
        MemorySegment table = host(type, gaussian(vocab * dim)), hids = hostInts(ids);
        MemorySegment hout = host(DType.F32, new float[ids.length * dim]);
        try (DeviceBuffer dt = onDevice(table); DeviceBuffer di = onDevice(hids); DeviceBuffer dout = onDevice(hout)) {
            device.embedding(dt, PAD, type, dim, di, PAD, ids.length, dout, PAD);
            cpu.embedding(table, PAD, type, dim, ids, hout, PAD);
            // A lookup is a widening: exact.
            assertArrayEquals(readHost(hout, ids.length * dim), readDevice(dout, ids.length * dim));
        }
    }

    @ParameterizedTest(name = "rmsNorm {0} rows={1} dim={2}")
    @CsvSource({"BF16, 1, 1024", "F32, 7, 128", "F16, 64, 2560", "BF16, 300, 64"})
    void rmsNorm(DType type, int rows, int dim) {
        MemorySegment hx = host(DType.F32, gaussian(rows * dim)), hw = host(type, gaussian(dim));
        MemorySegment hy = host(DType.F32, new float[rows * dim]);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dw = onDevice(hw); DeviceBuffer dy = onDevice(hy)) {
            device.rmsNorm(dx, PAD, dw, PAD, type, dy, PAD, rows, dim, 1e-6f);
            cpu.rmsNorm(hx, PAD, hw, PAD, type, hy, PAD, rows, dim, 1e-6f);
            assertClose(readHost(hy, rows * dim), readDevice(dy, rows * dim), "rmsNorm");
            device.rmsNorm(dx, PAD, dw, PAD, type, dx, PAD, rows, dim, 1e-6f);
            assertClose(readHost(hy, rows * dim), readDevice(dx, rows * dim), "rmsNorm in place");
        }
    }

    @ParameterizedTest(name = "rope rows={0} heads={1} headDim={2}")
    @CsvSource({"1, 16, 128", "9, 8, 64", "4, 2, 32"})
    void rope(int rows, int heads, int headDim) {
        int n = rows * heads * headDim;
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) {
            pos[r] = rnd.nextInt(40_000);
        }
        MemorySegment hx = host(DType.F32, gaussian(n)), hpos = hostInts(pos);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dpos = onDevice(hpos)) {
            device.rope(dx, PAD, rows, heads, headDim, dpos, PAD, 1_000_000f);
            cpu.rope(hx, PAD, rows, heads, headDim, pos, 1_000_000f);
            assertClose(readHost(hx, n), readDevice(dx, n), "rope");
        }
    }

    @Test
    void elementwise() {
        int n = 10_007;
        MemorySegment a = host(DType.F32, gaussian(n)), b = host(DType.F32, gaussian(n));
        MemorySegment out = host(DType.F32, new float[n]);
        try (DeviceBuffer da = onDevice(a); DeviceBuffer db = onDevice(b); DeviceBuffer dout = onDevice(out)) {
            device.swiglu(da, PAD, db, PAD, dout, PAD, n);
            cpu.swiglu(a, PAD, b, PAD, out, PAD, n);
            assertClose(readHost(out, n), readDevice(dout, n), "swiglu");
            device.add(da, PAD, db, PAD, dout, PAD, n);
            cpu.add(a, PAD, b, PAD, out, PAD, n);
            assertArrayEquals(readHost(out, n), readDevice(dout, n), "add");
            device.add(da, PAD, db, PAD, da, PAD, n);
            assertArrayEquals(readHost(out, n), readDevice(da, n), "add in place");
            device.copy(db, PAD, dout, PAD, n);
            assertArrayEquals(readHost(b, n), readDevice(dout, n), "copy");
        }
    }

    @ParameterizedTest(name = "softmax rows={0} cols={1}")
    @CsvSource({"1, 151936", "5, 1000", "64, 33"})
    void softmax(int rows, int cols) {
        float[] v = gaussian(rows * cols);
        for (int i = 0; i < v.length; i++) {
            v[i] *= 8;
        }
        MemorySegment hx = host(DType.F32, v);
        try (DeviceBuffer dx = onDevice(hx)) {
            device.softmax(dx, PAD, rows, cols);
            cpu.softmax(hx, PAD, rows, cols);
            assertClose(readHost(hx, rows * cols), readDevice(dx, rows * cols), "softmax");
        }
    }

    @ParameterizedTest(name = "attention tokens={0} start={1} heads={2}/{3} headDim={4}")
    @CsvSource({
        "1, 0, 4, 4, 64", "1, 1, 4, 2, 128", "1, 300, 16, 8, 128", "1, 2047, 8, 2, 64",
        "5, 0, 4, 2, 64", "40, 0, 8, 2, 128", "130, 0, 4, 1, 64", "17, 33, 4, 4, 128", "64, 500, 16, 8, 128",
        // Qwen3-14B's group of 5 and Qwen3-32B's group of 8 query heads per KV head.
        "1, 300, 40, 8, 128", "17, 33, 10, 2, 64", "1, 1000, 64, 8, 128", "20, 40, 16, 2, 64"})
    void attention(int tokens, int start, int heads, int kvHeads, int headDim) {
        int capacity = start + tokens + 3;
        int kvDim = kvHeads * headDim;
        float[] k = gaussian(capacity * kvDim), v = gaussian(capacity * kvDim);
        // Slots past what any token may see are NaN: reading them poisons the output.
        for (int i = (start + tokens) * kvDim; i < capacity * kvDim; i++) {
            k[i] = Float.NaN;
            v[i] = Float.NaN;
        }
        MemorySegment hq = host(DType.F32, gaussian(tokens * heads * headDim));
        MemorySegment hk = host(DType.F32, k), hv = host(DType.F32, v);
        MemorySegment hout = host(DType.F32, new float[tokens * heads * headDim]);
        AttentionShape shape = new AttentionShape(tokens, start, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        try (DeviceBuffer dq = onDevice(hq); DeviceBuffer dk = onDevice(hk); DeviceBuffer dv = onDevice(hv);
             DeviceBuffer dout = onDevice(hout)) {
            device.attention(dq, PAD, dk, PAD, dv, PAD, dout, PAD, shape);
            cpu.attention(hq, PAD, hk, PAD, hv, PAD, hout, PAD, shape);
            int n = tokens * heads * headDim;
            assertClose(readHost(hout, n), readDevice(dout, n), "attention");
        }
    }

    @Test
    void argmax() {
        int rows = 4, cols = 151_936;
        float[] v = gaussian(rows * cols);
        v[5] = 100;                      // row 0: a clear winner
        v[cols + cols - 1] = 100;        // row 1: the last column
        v[2 * cols + 7] = 50;            // row 2: a tie, the first one wins
        v[2 * cols + 90_000] = 50;
        v[3 * cols] = 9;                 // row 3: the first column
        MemorySegment hx = host(DType.F32, v);
        MemorySegment hout = hostInts(new int[rows]);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dout = onDevice(hout)) {
            device.argmax(dx, PAD, rows, cols, dout, PAD);
            MemorySegment got = arena.allocate(4L * (rows + PAD), 64);
            device.download(dout, 0, got);
            int[] ids = new int[rows];
            for (int r = 0; r < rows; r++) {
                ids[r] = got.getAtIndex(JAVA_INT_UNALIGNED, PAD + r);
            }
            assertArrayEquals(new int[] {5, cols - 1, 7, 0}, ids);
        }
    }

    @Test
    void argmaxPassesOverNaN() {
        int rows = 3, cols = 5000;
        float[] v = new float[rows * cols];
        java.util.Arrays.fill(v, -1f);
        v[0] = Float.NaN;                // row 0: NaN first, then the real maximum
        v[2500] = 4;
        v[cols + 3] = 2;                 // row 1: a NaN after the maximum, and one in every work-group
        for (int c = 10; c < cols; c += 97) {
            v[cols + c] = Float.NaN;
        }
        java.util.Arrays.fill(v, 2 * cols, 3 * cols, Float.NaN);   // row 2: only NaN
        MemorySegment hx = host(DType.F32, v);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dout = onDevice(hostInts(new int[rows]))) {
            device.argmax(dx, PAD, rows, cols, dout, PAD);
            MemorySegment got = arena.allocate(4L * (rows + PAD), 64);
            device.download(dout, 0, got);
            int[] ids = new int[rows];
            for (int r = 0; r < rows; r++) {
                ids[r] = got.getAtIndex(JAVA_INT_UNALIGNED, PAD + r);
            }
            assertArrayEquals(new int[] {2500, 3, 0}, ids);
        }
    }

    @Test
    void allocationsAreZeroAndTransfersRoundTrip() {
        try (DeviceBuffer b = device.allocate(4096)) {
            assertEquals(4096, b.bytes());
            MemorySegment s = arena.allocate(4096, 64);
            s.fill((byte) 7);
            device.download(b, 0, s);
            for (int i = 0; i < 4096; i++) {
                assertEquals(0, s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i), "byte " + i);
            }
            MemorySegment part = arena.allocate(100, 1);
            part.fill((byte) 3);
            device.upload(part, b, 1000);
            MemorySegment back = arena.allocate(102, 1);
            device.download(b, 999, back);
            assertEquals(0, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            assertEquals(3, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 1));
            assertEquals(3, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100));
            assertEquals(0, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 101));
        }
    }

    @Test
    void transfersAreCounted() {
        Transfers.Count before = device.transfers();
        try (DeviceBuffer b = device.allocate(4096)) {
            device.upload(arena.allocate(1000, 64), b, 8);
            device.upload(MemorySegment.ofArray(new byte[24]), b, 2000);   // a heap segment, staged
            device.download(b, 16, arena.allocate(300, 64));
            device.download(b, 0, MemorySegment.ofArray(new byte[5]));
        }
        assertEquals(new Transfers.Count(1024, 305), device.transfers().since(before));
    }

    /**
     * The other cases' operands sit at odd offsets; real weights usually start 32-byte aligned,
     * where GPU GEMV kernels switch to single wide vector loads. This covers that path against
     * the host device: plain, norm-fused and gate/up, for each weight type.
     */
    @ParameterizedTest(name = "aligned GEMV {0} rows={1}")
    @CsvSource({"F32, 1", "F16, 3", "BF16, 8", "BF16, 1", "BF16, 12", "F32, 70"})
    void alignedOperandsTakeTheVectorLoadPath(DType type, int rows) {
        int out = 40, in = 264, off = 8;
        Random rnd = new Random(7);
        try (CpuBackend cpu = new CpuBackend(1); HostDevice host = new HostDevice(cpu);
             Arena arena = Arena.ofConfined()) {
            MemorySegment x = randomValues(arena, DType.F32, off + rows * in, rnd);
            MemorySegment gamma = randomValues(arena, type, off + in, rnd);
            MemorySegment w = randomValues(arena, type, off + 2 * out * in, rnd);
            Device[] devices = {host, device};
            float[][] plain = new float[2][], normed = new float[2][], gateUp = new float[2][];
            for (int d = 0; d < 2; d++) {
                Device dev = devices[d];
                try (DeviceBuffer bx = dev.allocate(x.byteSize()); DeviceBuffer bg = dev.allocate(gamma.byteSize());
                     DeviceBuffer bw = dev.allocate(w.byteSize()); DeviceBuffer by = dev.allocate(4L * (off + rows * out))) {
                    dev.upload(x, bx, 0);
                    dev.upload(gamma, bg, 0);
                    dev.upload(w, bw, 0);
                    dev.linear(bx, off, bw, off, type, by, off, rows, out, in, false);
                    plain[d] = readAligned(dev, by, arena, off, rows * out);
                    dev.rmsNormLinear(bx, off, bg, off, type, 1e-6f, bw, off, type, by, off, rows, out, in);
                    normed[d] = readAligned(dev, by, arena, off, rows * out);
                    dev.rmsNormGateUpSwiglu(bx, off, bg, off, type, 1e-6f, bw, off, type, by, off, rows, out, in);
                    gateUp[d] = readAligned(dev, by, arena, off, rows * out);
                }
            }
            assertNearHost(plain[0], plain[1], "linear");
            assertNearHost(normed[0], normed[1], "rmsNormLinear");
            assertNearHost(gateUp[0], gateUp[1], "rmsNormGateUpSwiglu");
        }
    }

    private static MemorySegment randomValues(Arena arena, DType type, int n, Random rnd) {
        MemorySegment s = arena.allocate((long) n * type.byteSize(), 64);
        for (int i = 0; i < n; i++) {
            float v = (float) rnd.nextGaussian();
            switch (type) {
                case F32 -> s.setAtIndex(JAVA_FLOAT, i, v);
                case F16 -> s.setAtIndex(JAVA_SHORT, i, Float.floatToFloat16(v));
                case BF16 -> s.setAtIndex(JAVA_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return s;
    }

    private static float[] readAligned(Device dev, DeviceBuffer b, Arena arena, int off, int n) {
        MemorySegment s = arena.allocate(4L * (off + n), 64);
        dev.download(b, 0, s);
        return s.asSlice(4L * off).toArray(JAVA_FLOAT);
    }

    private static void assertNearHost(float[] want, float[] got, String what) {
        double max = 0;
        for (float w : want) {
            max = Math.max(max, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= TOL * (max + 1))) {
                fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i]);
            }
        }
    }
}
