package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

/**
 * The {@link RecordingDevice} part of the contract, against the CPU backend: cache slots and
 * visible keys taken from device positions, and recorded launches that replay with the
 * buffers' contents at replay time.
 */
public abstract class RecordingDeviceContract extends TrainingKernelsContract {

    private RecordingDevice recorder() {
        return (RecordingDevice) device;
    }

    @ParameterizedTest(name = "splitQkvAtPositions rows={0} heads={1}/{2} headDim={3} start={4}")
    @CsvSource({"1, 4, 2, 64, 9", "4, 4, 2, 128, 0", "5, 16, 8, 128, 1000"})
    void splitQkvAtPositionsWritesEachRowAtItsPositionAndNothingOutsideTheCache(int rows, int heads, int kvHeads,
                                                                                 int headDim, int start) {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
        int slots = start + rows + 2;
        int[] pos = new int[rows];
        for (int r = 0; r < rows; r++) {
            pos[r] = start + r;
        }
        if (rows > 1) {
            pos[rows - 1] = slots;  // past the cache: q only
        }
        int inCache = rows > 1 ? rows - 1 : rows;
        float[] qkv = gaussian(rows * width), qn = gaussian(headDim), kn = gaussian(headDim);
        MemorySegment hqkv = host(DType.F32, qkv), hqn = host(DType.BF16, qn), hkn = host(DType.BF16, kn);
        MemorySegment hq = host(DType.F32, new float[rows * qDim]);
        float[] nan = new float[slots * kvDim];
        java.util.Arrays.fill(nan, Float.NaN);
        MemorySegment hk = host(DType.F32, nan), hv = host(DType.F32, nan);
        try (DeviceBuffer dqkv = onDevice(hqkv); DeviceBuffer dqn = onDevice(hqn); DeviceBuffer dkn = onDevice(hkn);
             DeviceBuffer dq = onDevice(hq); DeviceBuffer dk = onDevice(hk); DeviceBuffer dv = onDevice(hv);
             DeviceBuffer dpos = onDevice(hostInts(pos))) {
            recorder().splitQkvAtPositions(dqkv, PAD, rows, heads, kvHeads, headDim, dqn, PAD, dkn, PAD, DType.BF16,
                    1e-6f, dpos, PAD, 1_000_000f, dq, PAD, dk, PAD, dv, PAD, slots);
            for (int r = 0; r < rows; r++) {
                long row = PAD + (long) r * width;
                cpu.copy(hqkv, row, hq, PAD + (long) r * qDim, qDim);
                if (r < inCache) {
                    long slot = PAD + (long) pos[r] * kvDim;
                    cpu.copy(hqkv, row + qDim, hk, slot, kvDim);
                    cpu.copy(hqkv, row + qDim + kvDim, hv, slot, kvDim);
                }
            }
            long first = PAD + (long) start * kvDim;
            cpu.rmsNorm(hq, PAD, hqn, PAD, DType.BF16, hq, PAD, rows * heads, headDim, 1e-6f);
            cpu.rmsNorm(hk, first, hkn, PAD, DType.BF16, hk, first, inCache * kvHeads, headDim, 1e-6f);
            cpu.rope(hq, PAD, rows, heads, headDim, pos, 1_000_000f);
            cpu.rope(hk, first, inCache, kvHeads, headDim, java.util.Arrays.copyOf(pos, inCache), 1_000_000f);
            assertClose(readHost(hq, rows * qDim), readDevice(dq, rows * qDim), "q");
            assertSameOrClose(readHost(hk, slots * kvDim), readDevice(dk, slots * kvDim), "k cache");
            assertSameOrClose(readHost(hv, slots * kvDim), readDevice(dv, slots * kvDim), "v cache");
        }
    }

    @ParameterizedTest(name = "attentionAtPositions tokens={0} start={1} slots={2} heads={3}/{4} headDim={5}")
    @CsvSource({"1, 0, 9, 4, 2, 64", "1, 300, 1001, 16, 8, 128", "1, 20, 100, 6, 2, 96", "17, 33, 150, 8, 2, 128"})
    void attentionAtPositionsReadsTheStartFromThePositionsAndPlansForTheSlots(int tokens, int start, int slots,
                                                                             int heads, int kvHeads, int headDim) {
        AttentionShape shape = new AttentionShape(tokens, start, heads, kvHeads, headDim,
                (float) (1 / Math.sqrt(headDim)));
        try (AttentionCase c = new AttentionCase(shape, slots)) {
            recorder().attentionAtPositions(c.dq, PAD, c.dk, PAD, c.dv, PAD, c.dout, PAD, shape, c.dpos, PAD, slots);
            c.check(shape);
        }
    }

    @Test
    void aRecordingReplaysWithTheBuffersContentsAtReplayTime() {
        int n = 1000;
        float[] a = gaussian(n), b = gaussian(n);
        MemorySegment ha = host(DType.F32, a), hb = host(DType.F32, b), hout = host(DType.F32, new float[n]);
        try (DeviceBuffer da = onDevice(ha); DeviceBuffer db = onDevice(hb); DeviceBuffer dout = onDevice(hout)) {
            recorder().beginRecording();
            device.copy(da, PAD, dout, PAD, n);
            device.add(dout, PAD, db, PAD, dout, PAD, n);
            try (DeviceGraph graph = recorder().endRecording()) {
                assertTrue(graph.isValid());
                for (int round = 0; round < 2; round++) {
                    MemorySegment fresh = host(DType.F32, gaussian(n));
                    device.upload(fresh, da, 0);
                    graph.launch();
                    cpu.add(fresh, PAD, hb, PAD, hout, PAD, n);
                    assertClose(readHost(hout, n), readDevice(dout, n), "replay " + round);
                }
                graph.close();
                assertFalse(graph.isValid());
                assertThrows(IllegalStateException.class, graph::launch);
            }
        }
    }

    @Test
    void aRecordedDecodeAttentionFollowsThePositionsAsTheCacheGrows() {
        int slots = 700, heads = 8, kvHeads = 2, headDim = 64;
        AttentionShape first = new AttentionShape(1, 150, heads, kvHeads, headDim, 0.125f);
        try (AttentionCase c = new AttentionCase(first, slots)) {
            recorder().attentionAtPositions(c.dq, PAD, c.dk, PAD, c.dv, PAD, c.dout, PAD, first, c.dpos, PAD, slots);
            device.synchronize();  // sizes any scratch outside the recording, as a direct step does
            recorder().beginRecording();
            recorder().attentionAtPositions(c.dq, PAD, c.dk, PAD, c.dv, PAD, c.dout, PAD, first, c.dpos, PAD, slots);
            try (DeviceGraph graph = recorder().endRecording()) {
                for (int start : new int[] {150, 151, 420, 0}) {
                    AttentionShape now = new AttentionShape(1, start, heads, kvHeads, headDim, 0.125f);
                    c.fillKeys(now);
                    device.upload(hostInts(new int[] {start}), c.dpos, 0);
                    graph.launch();
                    c.check(now);
                }
            }
        }
    }

    @Test
    void nothingMayBeAllocatedOrCopiedWhileRecording() {
        try (DeviceBuffer buffer = device.allocate(64)) {
            recorder().beginRecording();
            try {
                assertThrows(IllegalStateException.class, () -> device.allocate(16));
                assertThrows(IllegalStateException.class, () -> device.upload(MemorySegment.ofArray(new byte[4]), buffer, 0));
                assertThrows(IllegalStateException.class,
                        () -> device.download(buffer, 0, MemorySegment.ofArray(new byte[4])));
                assertThrows(IllegalStateException.class, recorder()::beginRecording);
            } finally {
                recorder().endRecording().close();
            }
            assertThrows(IllegalStateException.class, recorder()::endRecording);
        }
    }

    /**
     * Operands of one attention call: caches of {@code slots} slots whose keys past what the
     * tokens may see are NaN, the positions, and the CPU's answer to compare with.
     */
    private final class AttentionCase implements AutoCloseable {
        final int slots;
        final MemorySegment hq, hk, hv, hout;
        final DeviceBuffer dq, dk, dv, dout, dpos;

        AttentionCase(AttentionShape shape, int slots) {
            this.slots = slots;
            int kvDim = shape.kvHeads() * shape.headDim();
            hq = host(DType.F32, gaussian(shape.tokens() * shape.heads() * shape.headDim()));
            hk = host(DType.F32, new float[slots * kvDim]);
            hv = host(DType.F32, new float[slots * kvDim]);
            hout = host(DType.F32, new float[shape.tokens() * shape.heads() * shape.headDim()]);
            dq = onDevice(hq);
            dk = onDevice(hk);
            dv = onDevice(hv);
            dout = onDevice(hout);
            int[] pos = new int[shape.tokens()];
            for (int t = 0; t < pos.length; t++) {
                pos[t] = shape.startPos() + t;
            }
            dpos = onDevice(hostInts(pos));
            fillKeys(shape);
        }

        /** Fresh keys and values for the positions the shape may see, NaN beyond. */
        void fillKeys(AttentionShape shape) {
            int kvDim = shape.kvHeads() * shape.headDim();
            int visible = shape.startPos() + shape.tokens();
            float[] k = gaussian(slots * kvDim), v = gaussian(slots * kvDim);
            for (int i = visible * kvDim; i < slots * kvDim; i++) {
                k[i] = Float.NaN;
                v[i] = Float.NaN;
            }
            MemorySegment.copy(host(DType.F32, k), 0, hk, 0, hk.byteSize());
            MemorySegment.copy(host(DType.F32, v), 0, hv, 0, hv.byteSize());
            device.upload(hk, dk, 0);
            device.upload(hv, dv, 0);
        }

        void check(AttentionShape shape) {
            cpu.attention(hq, PAD, hk, PAD, hv, PAD, hout, PAD, shape);
            int n = shape.tokens() * shape.heads() * shape.headDim();
            assertClose(readHost(hout, n), readDevice(dout, n), "attention at start " + shape.startPos());
        }

        @Override
        public void close() {
            dq.close();
            dk.close();
            dv.close();
            dout.close();
            dpos.close();
        }
    }
}
