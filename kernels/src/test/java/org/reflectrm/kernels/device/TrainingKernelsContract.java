package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

/**
 * What every {@link Device} must do for training: the matrix product in every layout, the backward
 * kernels and the AdamW step, each against the CPU backend (whose backward kernels are tested
 * against finite differences and torch), with {@link DeviceContract}'s padding and tolerance.
 * Gradient outputs start from random values, so a kernel that overwrites instead of accumulating
 * fails.
 */
public abstract class TrainingKernelsContract extends DeviceContract {

    @ParameterizedTest(name = "matmul transA={0} transB={1} {2} m={3} n={4} k={5} acc={6}")
    @CsvSource({
        // A linear layer's backward: dX = dY·W (W[out, in] as B[k, n]) and dW += dYᵀ·X.
        "false, false, BF16, 7, 96, 130, true", "false, false, F16, 1, 257, 64, false",
        "false, false, F32, 70, 33, 200, false", "true, false, F32, 96, 130, 7, true",
        "true, false, F32, 64, 300, 129, true", "true, false, BF16, 5, 40, 1, false",
        // The forward's layout, and both transposed.
        "false, true, BF16, 33, 65, 128, false", "true, true, F32, 17, 18, 19, true",
        "true, true, F16, 1, 1, 300, false"})
    void matmul(boolean transA, boolean transB, DType type, int m, int n, int k, boolean accumulate) {
        MemorySegment ha = host(DType.F32, gaussian(m * k)), hb = host(type, gaussian(k * n));
        MemorySegment hc = host(DType.F32, gaussian(m * n));
        try (DeviceBuffer da = onDevice(ha); DeviceBuffer db = onDevice(hb); DeviceBuffer dc = onDevice(hc)) {
            device.matmul(da, PAD, transA, db, PAD, type, transB, dc, PAD, m, n, k, accumulate);
            cpu.matmul(ha, PAD, transA, hb, PAD, type, transB, hc, PAD, m, n, k, accumulate);
            assertClose(readHost(hc, m * n), readDevice(dc, m * n), "matmul");
        }
    }

    @ParameterizedTest(name = "rmsNormBackward {0} rows={1} dim={2} dw={3}")
    @CsvSource({"BF16, 1, 1024, true", "F32, 7, 128, true", "F16, 64, 2560, false", "BF16, 300, 64, true"})
    void rmsNormBackward(DType type, int rows, int dim, boolean withDw) {
        MemorySegment hx = host(DType.F32, gaussian(rows * dim)), hw = host(type, gaussian(dim));
        MemorySegment hdy = host(DType.F32, gaussian(rows * dim)), hdx = host(DType.F32, gaussian(rows * dim));
        MemorySegment hdw = host(DType.F32, gaussian(dim));
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dw = onDevice(hw); DeviceBuffer ddy = onDevice(hdy);
             DeviceBuffer ddx = onDevice(hdx); DeviceBuffer ddw = onDevice(hdw)) {
            device.rmsNormBackward(dx, PAD, dw, PAD, type, ddy, PAD, ddx, PAD, withDw ? ddw : null, PAD, rows, dim,
                    1e-6f);
            cpu.rmsNormBackward(hx, PAD, hw, PAD, type, hdy, PAD, hdx, PAD, withDw ? hdw : null, PAD, rows, dim, 1e-6f);
            assertClose(readHost(hdx, rows * dim), readDevice(ddx, rows * dim), "dx");
            assertClose(readHost(hdw, dim), readDevice(ddw, dim), "dw");
        }
    }

    @ParameterizedTest(name = "ropeInverse rows={0} heads={1} headDim={2}")
    @CsvSource({"1, 16, 128", "9, 8, 64", "4, 2, 32"})
    void ropeInverse(int rows, int heads, int headDim) {
        int n = rows * heads * headDim;
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) {
            pos[r] = (r * 7919) % 40_000;
        }
        float[] x = gaussian(n);
        MemorySegment hx = host(DType.F32, x), hpos = hostInts(pos);
        try (DeviceBuffer dx = onDevice(hx); DeviceBuffer dpos = onDevice(hpos)) {
            device.ropeInverse(dx, PAD, rows, heads, headDim, dpos, PAD, 1_000_000f);
            cpu.ropeInverse(hx, PAD, rows, heads, headDim, pos, 1_000_000f);
            assertClose(readHost(hx, n), readDevice(dx, n), "ropeInverse");
            // Undoing the rotation gives the input back.
            device.rope(dx, PAD, rows, heads, headDim, dpos, PAD, 1_000_000f);
            assertClose(x, readDevice(dx, n), "rope after ropeInverse");
        }
    }

    @Test
    void swigluBackward() {
        int n = 10_007;
        MemorySegment gate = host(DType.F32, gaussian(n)), up = host(DType.F32, gaussian(n));
        MemorySegment dOut = host(DType.F32, gaussian(n));
        MemorySegment dGate = host(DType.F32, gaussian(n)), dUp = host(DType.F32, gaussian(n));
        try (DeviceBuffer dg = onDevice(gate); DeviceBuffer du = onDevice(up); DeviceBuffer ddo = onDevice(dOut);
             DeviceBuffer ddg = onDevice(dGate); DeviceBuffer ddu = onDevice(dUp)) {
            device.swigluBackward(dg, PAD, du, PAD, ddo, PAD, ddg, PAD, ddu, PAD, n);
            cpu.swigluBackward(gate, PAD, up, PAD, dOut, PAD, dGate, PAD, dUp, PAD, n);
            assertClose(readHost(dGate, n), readDevice(ddg, n), "dGate");
            assertClose(readHost(dUp, n), readDevice(ddu, n), "dUp");
        }
    }

    @Test
    void scaleAndZero() {
        int n = 10_007;
        MemorySegment a = host(DType.F32, gaussian(n)), out = host(DType.F32, gaussian(n));
        try (DeviceBuffer da = onDevice(a); DeviceBuffer dout = onDevice(out)) {
            device.scale(da, PAD, -0.37f, dout, PAD, n);
            cpu.scale(a, PAD, -0.37f, out, PAD, n);
            assertArrayEquals(readHost(out, n), readDevice(dout, n), "scale: one rounding, the same bits");
            device.scale(dout, PAD, 4f, dout, PAD, n);                // in place
            float[] scaled = readDevice(dout, n);
            float[] want = readHost(out, n);
            for (int i = 0; i < n; i++) {
                want[i] *= 4f;
            }
            assertArrayEquals(want, scaled, "scale in place");
            device.zero(dout, PAD + 10, n - 20);
            for (int i = 10; i < n - 10; i++) {
                want[i] = 0f;
            }
            assertArrayEquals(want, readDevice(dout, n), "zero touches exactly its range");
        }
    }

    @ParameterizedTest(name = "sgd n={0} momentum={1} wd={2} first={3}")
    @CsvSource({"10007, 0, 0, true", "10007, 0, 0.01, false", "10007, 0.9, 0.01, true", "37, 0.9, 0, false"})
    void sgd(int n, float momentum, float wd, boolean first) {
        SgdStep step = new SgdStep(wd, momentum, first, -1e-2f);
        MemorySegment hp = host(DType.F32, gaussian(n)), hg = host(DType.F32, gaussian(n)), hb = host(DType.F32, gaussian(n));
        try (DeviceBuffer dp = onDevice(hp); DeviceBuffer dg = onDevice(hg); DeviceBuffer db = onDevice(hb)) {
            boolean keeps = step.hasMomentum();
            device.sgd(dp, PAD, dg, PAD, keeps ? db : null, PAD, n, step);
            org.reflectrm.kernels.cpu.CpuSgd.update(hp, PAD, hg, PAD, keeps ? hb : null, PAD, n, step);
            // The same operations in the same order: the same bits.
            assertArrayEquals(readHost(hp, n), readDevice(dp, n), "param");
            assertArrayEquals(readHost(hb, n), readDevice(db, n), keeps ? "momentum buffer" : "untouched buffer");
        }
    }

    @Test
    void allocationsCountLiveAndPeakBytes() {
        long live = device.allocations().live(), peak = device.allocations().peak();
        DeviceBuffer a = device.allocate(1000);
        try (DeviceBuffer b = device.allocate(3000)) {
            assertEquals(live + 4000, device.allocations().live());
            a.close();
            a.close();                                    // twice: counted once
            assertEquals(live + 3000, device.allocations().live());
            assertEquals(Math.max(peak, live + 4000), device.allocations().peak());
        }
        assertEquals(live, device.allocations().live());
    }

    @Test
    void buffersReadAndWriteThemselves() {
        float[] v = gaussian(300);
        MemorySegment h = host(DType.F32, v);
        try (DeviceBuffer b = device.allocate(h.byteSize())) {
            b.write(h, 0);
            assertArrayEquals(v, readDevice(b, 300), "write, then the device's download");
            MemorySegment back = arena.allocate(h.byteSize(), 64);
            b.read(0, back);
            assertArrayEquals(v, readHost(back, 300), "read");
        }
    }

    @ParameterizedTest(name = "embeddingBackward dim={0}")
    @CsvSource({"64", "100", "1024"})
    void embeddingBackward(int dim) {
        int vocab = 50;
        int[] ids = {3, 0, 49, 3, 17, 22, 8, 3, 49};   // repeats sum in order
        MemorySegment dOut = host(DType.F32, gaussian(ids.length * dim));
        MemorySegment table = host(DType.F32, gaussian(vocab * dim)), hids = hostInts(ids);
        try (DeviceBuffer ddo = onDevice(dOut); DeviceBuffer dt = onDevice(table); DeviceBuffer di = onDevice(hids)) {
            device.embeddingBackward(di, PAD, ids.length, ddo, PAD, dim, dt, PAD);
            cpu.embeddingBackward(ids, dOut, PAD, dim, table, PAD);
            // The same additions in the same order: the same bits.
            assertArrayEquals(readHost(table, vocab * dim), readDevice(dt, vocab * dim));
        }
    }

    @ParameterizedTest(name = "crossEntropy rows={0} cols={1}")
    @CsvSource({"5, 1000", "2, 151936", "33, 64"})
    void crossEntropy(int rows, int cols) {
        float[] logits = gaussian(rows * cols);
        for (int i = 0; i < logits.length; i++) {
            logits[i] *= 6;
        }
        int[] targets = new int[rows];
        float[] weights = new float[rows];
        for (int r = 0; r < rows; r++) {
            targets[r] = (r * 7907 + 11) % cols;
            weights[r] = r % 3 == 1 ? 0f : 0.25f + r % 4;   // some rows masked out
        }
        MemorySegment hl = host(DType.F32, logits), ht = hostInts(targets), hw = host(DType.F32, weights);
        MemorySegment hloss = host(DType.F32, gaussian(rows));
        try (DeviceBuffer dl = onDevice(hl); DeviceBuffer dt = onDevice(ht); DeviceBuffer dw = onDevice(hw);
             DeviceBuffer dloss = onDevice(hloss)) {
            device.crossEntropy(dl, PAD, rows, cols, dt, PAD, dw, PAD, dloss, PAD);
            double[] losses = new double[rows];
            cpu.crossEntropy(hl, PAD, rows, cols, targets, weights, losses);
            float[] want = new float[rows];
            for (int r = 0; r < rows; r++) {
                want[r] = (float) losses[r];
            }
            assertClose(want, readDevice(dloss, rows), "losses");
            assertClose(readHost(hl, rows * cols), readDevice(dl, rows * cols), "gradient");
        }
    }

    @ParameterizedTest(name = "attentionBackward tokens={0} heads={1}/{2} headDim={3}")
    @CsvSource({
        "1, 4, 4, 64", "2, 2, 1, 32", "5, 4, 2, 64", "40, 8, 2, 128", "130, 4, 1, 64", "17, 10, 2, 64",
        "64, 16, 8, 128", "300, 2, 2, 128"})
    void attentionBackward(int tokens, int heads, int kvHeads, int headDim) {
        int n = tokens * heads * headDim, kv = tokens * kvHeads * headDim;
        AttentionShape shape = new AttentionShape(tokens, 0, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        MemorySegment hq = host(DType.F32, gaussian(n)), hk = host(DType.F32, gaussian(kv));
        MemorySegment hv = host(DType.F32, gaussian(kv)), hdo = host(DType.F32, gaussian(n));
        MemorySegment hout = host(DType.F32, new float[n]);
        cpu.attention(hq, PAD, hk, PAD, hv, PAD, hout, PAD, shape);
        MemorySegment hdq = host(DType.F32, gaussian(n)), hdk = host(DType.F32, gaussian(kv));
        MemorySegment hdv = host(DType.F32, gaussian(kv));
        try (DeviceBuffer dq = onDevice(hq); DeviceBuffer dk = onDevice(hk); DeviceBuffer dv = onDevice(hv);
             DeviceBuffer dout = onDevice(hout); DeviceBuffer ddo = onDevice(hdo); DeviceBuffer gq = onDevice(hdq);
             DeviceBuffer gk = onDevice(hdk); DeviceBuffer gv = onDevice(hdv)) {
            device.attentionBackward(dq, PAD, dk, PAD, dv, PAD, dout, PAD, ddo, PAD, gq, PAD, gk, PAD, gv, PAD, shape);
            cpu.attentionBackward(hq, PAD, hk, PAD, hv, PAD, hout, PAD, hdo, PAD, hdq, PAD, hdk, PAD, hdv, PAD, shape);
            assertClose(readHost(hdq, n), readDevice(gq, n), "dq");
            assertClose(readHost(hdk, kv), readDevice(gk, kv), "dk");
            assertClose(readHost(hdv, kv), readDevice(gv, kv), "dv");
        }
    }

    /**
     * Against the squares added in double: SumOfSquares' F32 blocks lose at most ~1e-6 relative.
     * A rerun gives the same bits (fixed order, no atomics); only the range is read (NaN padding).
     */
    @ParameterizedTest(name = "sumOfSquares n={0}")
    @CsvSource({"1", "255", "4096", "10007", "70001"})
    void sumOfSquares(int n) {
        float[] x = gaussian(n);
        double want = 0;
        for (float v : x) {
            want += (double) v * v;
        }
        try (DeviceBuffer dx = onDevice(host(DType.F32, x))) {
            double got = device.sumOfSquares(dx, PAD, n);
            assertEquals(want, got, 1e-6 * want, "sum of squares");
            assertEquals(got, device.sumOfSquares(dx, PAD, n), 0.0, "a rerun");
            assertEquals(0.0, device.sumOfSquares(dx, PAD, 0), "no elements");
        }
    }

    /**
     * Several vectors at once give each vector's sumOfSquares bits, including an empty one and
     * vectors in one buffer, and move only their block sums (CudaLaunchTest checks that a GPU
     * waits once for all of them).
     */
    @Test
    void sumsOfSquaresInOneBatch() {
        int[] sizes = {70001, 0, 1, 4096, 10007, 255};
        try (DeviceBuffer a = onDevice(host(DType.F32, gaussian(70001))); DeviceBuffer b = onDevice(host(DType.F32, gaussian(20000)))) {
            List<DeviceBuffer> xs = List.of(a, b, b, b, b, a);
            long[] offs = {PAD, PAD, PAD + 3, PAD + 7, PAD + 5000, PAD + 100};
            long[] ns = java.util.Arrays.stream(sizes).asLongStream().toArray();
            double[] want = new double[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                want[i] = device.sumOfSquares(xs.get(i), offs[i], ns[i]);
            }
            long downloadsBefore = device.transfers().downloadedBytes();
            double[] got = device.sumsOfSquares(xs, offs, ns);
            long downloaded = device.transfers().downloadedBytes() - downloadsBefore;
            for (int i = 0; i < sizes.length; i++) {
                assertEquals(want[i], got[i], 0.0, "vector " + i + " of " + sizes[i]);
            }
            long blocks = java.util.Arrays.stream(sizes).mapToLong(SumOfSquares::blocks).sum();
            assertTrue(downloaded == 0 || downloaded == 4 * blocks, "the block sums and nothing else: " + downloaded);
            assertThrows(IllegalArgumentException.class, () -> device.sumsOfSquares(xs, new long[1], ns));
        }
    }

    @ParameterizedTest(name = "adamW beta1={0} decays={1} step={2}")
    @CsvSource({"0.9, true, 1", "0.9, false, 7", "0.3, true, 3"})
    void adamW(double beta1, boolean decays, long step) {
        int n = 10_007;
        float[] v = gaussian(n);
        for (int i = 0; i < n; i++) {
            v[i] = v[i] * v[i] * 1e-3f;   // a second moment is non-negative
        }
        MemorySegment hp = host(DType.F32, gaussian(n)), hg = host(DType.F32, gaussian(n));
        MemorySegment hm = host(DType.F32, gaussian(n)), hv = host(DType.F32, v);
        AdamWStep s = AdamWStep.of(1e-3, beta1, 0.999, 1e-8, 0.01, step, decays);
        try (DeviceBuffer dp = onDevice(hp); DeviceBuffer dg = onDevice(hg); DeviceBuffer dm = onDevice(hm);
             DeviceBuffer dv = onDevice(hv)) {
            device.adamW(dp, PAD, dg, PAD, dm, PAD, dv, PAD, n, s);
            org.reflectrm.kernels.cpu.CpuAdamW.update(hp, PAD, hg, PAD, hm, PAD, hv, PAD, n, s);
            assertClose(readHost(hp, n), readDevice(dp, n), "param");
            assertClose(readHost(hm, n), readDevice(dm, n), "m");
            assertClose(readHost(hv, n), readDevice(dv, n), "v");
        }
    }
}
