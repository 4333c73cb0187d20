package org.reflectrm.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.AdamWStep;
import org.reflectrm.kernels.device.AttentionCall;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.KvSlots;

/**
 * Every Device method of {@link CudaDevice} against a recording {@link Gpu}, on machines without
 * one: each launch packs exactly its kernel's parameter list (checked at launch), with pointers
 * to live allocations, offsets as given and grids of the expected shape. What runs on the GPU is
 * the contract's business; this pins the Java half of the ABI.
 */
class CudaLaunchTest {

    /** A launch as the driver would have seen it. */
    record Launch(Kernel kernel, int gx, int gy, int gz, int block, long[] raw) {
        int intArg(int i) {
            return (int) raw[i];
        }
    }

    /** Hands out fake addresses and records launches, checking pointer arguments against allocations. */
    static final class RecordingGpu implements Gpu {
        final TreeMap<Long, Long> live = new TreeMap<>();
        final List<Launch> launches = new ArrayList<>();
        long next = 0x7000_0000_0000L;
        int syncs;
        boolean tensorCores;
        /** The bytes of every upload, in order. */
        final List<byte[]> uploads = new ArrayList<>();

        @Override
        public boolean tensorCores() {
            return tensorCores;
        }

        @Override
        public String description() {
            return "recorder";
        }

        @Override
        public long memoryBytes() {
            return 1L << 40;
        }

        @Override
        public long allocate(long bytes) {
            assertTrue(bytes > 0, "cuMemAlloc of " + bytes + " bytes");
            long a = next;
            next += (bytes + 511) / 256 * 256;
            live.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            assertTrue(live.remove(address) != null, "free of unknown address " + Long.toHexString(address));
        }

        @Override
        public void upload(MemorySegment src, long dst) {
            assertTrue(src.isNative());
            inside(dst, src.byteSize());
            uploads.add(src.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }

        @Override
        public void download(long src, MemorySegment dst) {
            assertTrue(dst.isNative());
            inside(src, dst.byteSize());
            syncs++;
        }

        private void inside(long address, long bytes) {
            var e = live.floorEntry(address);
            assertTrue(e != null && address + bytes <= e.getKey() + e.getValue(), "copy outside any allocation");
        }

        @Override
        public void synchronize() {
            syncs++;
        }

        @Override
        public void launch(Kernel kernel, int gx, int gy, int gz, int block, KernelArgs args) {
            args.check(kernel);
            long[] raw = new long[args.count()];
            for (int i = 0; i < raw.length; i++) {
                raw[i] = args.type(i) == 'i' ? args.intAt(i) : args.raw(i);
                if (args.type(i) == 'p' && raw[i] != 0 && !live.containsKey(raw[i])) {
                    fail(kernel.symbol + " argument " + i + " is not a live allocation");
                }
            }
            assertTrue(block >= 32 && block <= 1024 && block % 32 == 0, "block " + block);
            assertTrue(gx >= 1 && gy >= 1 && gz >= 1 && gy <= 65535 && gz <= 65535, "grid");
            launches.add(new Launch(kernel, gx, gy, gz, block, raw));
        }

        @Override
        public void beginCapture() {
        }

        @Override
        public MemorySegment endCapture() {
            return MemorySegment.ofAddress(1);
        }

        @Override
        public void destroyGraph(MemorySegment graph) {
        }

        @Override
        public void close() {
        }
    }

    private final RecordingGpu gpu = new RecordingGpu();
    private final CudaDevice device = new CudaDevice(gpu);

    private DeviceBuffer floats(long n) {
        return device.allocate(4 * (n + 3));
    }

    private Launch last() {
        return gpu.launches.getLast();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void linearPicksGemvOrGemmPerType(DType type) {
        DeviceBuffer x = floats(129 * 300), w = device.allocate((long) type.byteSize() * (300 * 300 + 3)),
                y = floats(129 * 300), g = device.allocate((long) type.byteSize() * 303);
        String t = type.name().toLowerCase();
        device.linear(x, 3, w, 3, type, y, 3, 8, 257, 300, true);
        assertEquals("linear_gemv_" + t, last().kernel().symbol);
        assertEquals(33, last().gx());
        assertEquals(3, last().raw()[1]);
        assertEquals(1, last().intArg(13), "accumulate");
        device.linear(x, 3, w, 3, type, y, 3, 37, 200, 160, false);
        assertEquals("linear_gemm_" + t, last().kernel().symbol);
        assertEquals(List.of(4, 1), List.of(last().gx(), last().gy()));
        device.rmsNormLinear(x, 3, g, 3, type, 1e-6f, w, 3, type, y, 3, 1, 300, 256);
        assertEquals("rms_linear_gemv_" + t, last().kernel().symbol);
        assertEquals(CudaDevice.typeCode(type), last().intArg(6));
        device.rmsNormGateUpSwiglu(x, 3, g, 3, type, 1e-6f, w, 3, type, y, 3, 70, 96, 64);
        assertEquals("gate_up_gemm_" + t, last().kernel().symbol);
        assertEquals(List.of(2, 2), List.of(last().gx(), last().gy()));
        assertEquals(96, last().intArg(11), "out is the intermediate size");
        // gate/up reads 2 * inter weight rows: one too many must be refused before launch.
        assertThrows(IndexOutOfBoundsException.class,
                () -> device.rmsNormGateUpSwiglu(x, 3, g, 3, type, 1e-6f, w, 3, type, y, 3, 1, 151, 300));
    }

    /** A gradient norm over many parameters: one sum-of-squares launch each, block sums side by side, one wait. */
    @Test
    void sumsOfSquaresWaitOnce() {
        DeviceBuffer a = floats(10_000), b = floats(5_000);
        int launchesBefore = gpu.launches.size(), syncsBefore = gpu.syncs;
        double[] sums = device.sumsOfSquares(List.of(a, b, a, b), new long[] {0, 3, 5000, 0}, new long[] {9000, 0, 4097, 1});
        assertEquals(4, sums.length);
        List<Launch> launched = gpu.launches.subList(launchesBefore, gpu.launches.size());
        assertEquals(3, launched.size(), "the empty vector launches nothing");
        assertEquals(List.of(3L, 2L, 1L), launched.stream().map(l -> (long) l.gx()).toList(), "blocks per vector");
        assertEquals(1, launched.stream().map(l -> l.raw()[3]).distinct().count(), "one buffer of block sums");
        assertEquals(List.of(0L, 3L, 5L), launched.stream().map(l -> l.raw()[4]).toList(),
                "block sums one vector after another");
        assertEquals(syncsBefore + 1, gpu.syncs, "one download for all of them");
    }

    /** With tensor cores (the Hopper PTX), BF16 GEMMs go to the MMA kernels; GEMV and other types do not. */
    @Test
    void bf16GemmsUseTheTensorCoresWhereThereAreSome() {
        RecordingGpu hopper = new RecordingGpu();
        hopper.tensorCores = true;
        CudaDevice d = new CudaDevice(hopper);
        DeviceBuffer x = d.allocate(4L * 129 * 300), y = d.allocate(4L * 129 * 300),
                w16 = d.allocate(2L * 300 * 300), w32 = d.allocate(4L * 300 * 300), g = d.allocate(2L * 300);
        d.linear(x, 0, w16, 0, DType.BF16, y, 0, 37, 200, 160, true);
        Launch l = hopper.launches.getLast();
        assertEquals(Kernel.LINEAR_TC_BF16, l.kernel());
        assertEquals(List.of(4, 1, 128), List.of(l.gx(), l.gy(), l.block()));
        assertEquals(1, l.intArg(13), "accumulate");
        d.rmsNormLinear(x, 0, g, 0, DType.BF16, 1e-6f, w16, 0, DType.BF16, y, 0, 129, 96, 64);
        assertEquals(Kernel.RMS_LINEAR_TC_BF16, hopper.launches.getLast().kernel());
        assertEquals(List.of(2, 3), List.of(hopper.launches.getLast().gx(), hopper.launches.getLast().gy()));
        d.rmsNormGateUpSwiglu(x, 0, g, 0, DType.BF16, 1e-6f, w16, 0, DType.BF16, y, 0, 70, 96, 64);
        assertEquals(Kernel.GATE_UP_TC_BF16, hopper.launches.getLast().kernel());
        d.linear(x, 0, w16, 0, DType.BF16, y, 0, 8, 200, 160, false);
        assertEquals(Kernel.LINEAR_GEMV_BF16, hopper.launches.getLast().kernel(), "decode stays on the GEMV");
        d.linear(x, 0, w32, 0, DType.F32, y, 0, 37, 200, 160, false);
        assertEquals(Kernel.LINEAR_GEMM_F32, hopper.launches.getLast().kernel(), "F32 weights have no MMA kernel");
        System.setProperty(CudaDevice.TENSOR_CORES_PROPERTY, "false");
        try {
            new CudaDevice(hopper).linear(x, 0, w16, 0, DType.BF16, y, 0, 37, 200, 160, false);
            assertEquals(Kernel.LINEAR_GEMM_BF16, hopper.launches.getLast().kernel(), "switched off by the property");
        } finally {
            System.clearProperty(CudaDevice.TENSOR_CORES_PROPERTY);
        }
        device.linear(floats(37 * 160), 0, device.allocate(2L * 200 * 160), 0, DType.BF16, floats(37 * 200), 0, 37, 200,
                160, false);
        assertEquals(Kernel.LINEAR_GEMM_BF16, last().kernel(), "no tensor cores: the SIMT GEMM");
    }

    @Test
    void everyOtherKernelLaunchesWithItsSignature() {
        DeviceBuffer qkv = floats(7 * 512), norm = device.allocate(2 * 131), pos = floats(10), q = floats(7 * 512),
                k = floats(20 * 512), v = floats(20 * 512), table = device.allocate(2 * (50 * 100 + 3)),
                x = floats(151_936 * 4), out = floats(151_936 * 4), ids = floats(10);
        device.splitQkv(qkv, 3, 7, 4, 2, 64, norm, 3, norm, 3, DType.BF16, 1e-6f, pos, 3, 1e6f, q, 3, k, 3 + 9 * 128,
                v, 3 + 9 * 128);
        assertEquals(List.of(Kernel.SPLIT_QKV, 7, 8, 32), List.of(last().kernel(), last().gx(), last().gy(),
                last().block()));
        device.embedding(table, 3, DType.BF16, 100, ids, 3, 7, out, 3);
        assertEquals(List.of(Kernel.EMBEDDING_BF16, 7, 1), List.of(last().kernel(), last().gx(), last().gy()));
        device.rmsNorm(x, 3, norm, 3, DType.BF16, x, 3, 300, 64, 1e-6f);
        assertEquals(List.of(Kernel.RMS_NORM, 300, 64), List.of(last().kernel(), last().gx(), last().block()));
        device.rope(q, 3, 4, 2, 64, pos, 3, 1e6f);
        assertEquals(List.of(Kernel.ROPE, 4, 2), List.of(last().kernel(), last().gx(), last().gy()));
        device.swiglu(x, 3, out, 3, out, 3, 10_007);
        assertEquals(List.of(Kernel.SWIGLU, 40), List.of(last().kernel(), last().gx()));
        device.add(x, 3, out, 3, x, 3, 10_007);
        device.copy(x, 3, out, 3, 10_007);
        assertEquals(Kernel.COPY_F32, last().kernel());
        device.softmax(x, 3, 1, 151_936);
        assertEquals(List.of(Kernel.SOFTMAX_ROWS, 1, 1024), List.of(last().kernel(), last().gx(), last().block()));
        device.argmax(x, 3, 4, 151_936, ids, 3);
        assertEquals(List.of(Kernel.ARGMAX_ROWS, 4), List.of(last().kernel(), last().gx()));
        assertThrows(IllegalArgumentException.class, () -> device.rope(q, 3, 1, 1, 63, pos, 3, 1e6f));
    }

    @Test
    void trainingKernelsLaunchWithTheirSignatures() {
        DeviceBuffer a = floats(130 * 96), b = device.allocate(2 * (130 * 96 + 3)), c = floats(130 * 96);
        device.matmul(a, 3, true, b, 3, DType.BF16, false, c, 3, 96, 130, 7, true);
        assertEquals(List.of(Kernel.MATMUL_BF16, 3, 2, 256), List.of(last().kernel(), last().gx(), last().gy(),
                last().block()));
        assertEquals(List.of(1, 0, 96, 130, 7, 1), List.of(last().intArg(2), last().intArg(5), last().intArg(8),
                last().intArg(9), last().intArg(10), last().intArg(11)));
        device.matmul(a, 3, false, b, 3, DType.BF16, true, c, 3, 8, 96, 130, false);
        assertEquals(Kernel.LINEAR_GEMV_BF16, last().kernel(), "the forward's layout is linear's");
        assertThrows(IndexOutOfBoundsException.class,
                () -> device.matmul(a, 3, false, b, 3, DType.BF16, false, c, 3, 130, 96, 130, false));

        DeviceBuffer x = floats(300 * 64), dy = floats(300 * 64), dx = floats(300 * 64), w = device.allocate(2 * 67),
                dw = floats(64);
        int before = gpu.launches.size();
        device.rmsNormBackward(x, 3, w, 3, DType.BF16, dy, 3, dx, 3, dw, 3, 300, 64, 1e-6f);
        assertEquals(before + 2, gpu.launches.size(), "with dw: the rows' kernel, then the column sums");
        Launch rows = gpu.launches.get(before), sums = last();
        assertEquals(List.of(Kernel.RMS_NORM_BACKWARD, 10, 64, 32), List.of(rows.kernel(), rows.gx(), rows.block(),
                rows.intArg(11)));
        long partial = rows.raw()[9];
        assertTrue(partial != 0 && gpu.live.get(partial) >= 4L * 10 * 64, "a partial row per block of 32 rows");
        assertEquals(List.of(Kernel.RMS_NORM_BACKWARD_DW, partial, 10L, 64L, 3L),
                List.of(sums.kernel(), sums.raw()[0], sums.raw()[1], sums.raw()[2], sums.raw()[4]));
        device.rmsNormBackward(x, 3, w, 3, DType.BF16, dy, 3, dx, 3, null, 0, 300, 64, 1e-6f);
        assertEquals(List.of(Kernel.RMS_NORM_BACKWARD, 300, 0L, 1),
                List.of(last().kernel(), last().gx(), last().raw()[9], last().intArg(11)), "without dw: a block per row");

        DeviceBuffer pos = floats(10);
        device.ropeInverse(dx, 3, 4, 2, 64, pos, 3, 1e6f);
        assertEquals(List.of(Kernel.ROPE_INVERSE, 4, 2, 32), List.of(last().kernel(), last().gx(), last().gy(),
                last().block()));
        device.swigluBackward(x, 3, dy, 3, dx, 3, a, 3, c, 3, 10_007);
        assertEquals(List.of(Kernel.SWIGLU_BACKWARD, 40), List.of(last().kernel(), last().gx()));

        DeviceBuffer table = floats(50 * 100), ids = floats(9);
        device.embeddingBackward(ids, 3, 9, x, 3, 100, table, 3);
        assertEquals(List.of(Kernel.EMBEDDING_BACKWARD, 1, 256), List.of(last().kernel(), last().gx(), last().block()));
        assertEquals(50L, last().raw()[8], "the table's rows, against which the kernel checks the ids");

        DeviceBuffer logits = floats(2 * 151_936), losses = floats(2);
        device.crossEntropy(logits, 3, 2, 151_936, ids, 3, ids, 5, losses, 3);
        assertEquals(List.of(Kernel.CROSS_ENTROPY, 2, 1024), List.of(last().kernel(), last().gx(), last().block()));
        assertThrows(IllegalArgumentException.class, () -> device.crossEntropy(logits, 3, 2, 0, ids, 3, ids, 5, losses, 3));

        int tokens = 130, heads = 10, kvHeads = 2, d = 64;
        DeviceBuffer aq = floats(tokens * heads * d), ak = floats(tokens * kvHeads * d), av = floats(tokens * kvHeads * d),
                ao = floats(tokens * heads * d), ado = floats(tokens * heads * d), adq = floats(tokens * heads * d),
                adk = floats(tokens * kvHeads * d), adv = floats(tokens * kvHeads * d);
        AttentionShape shape = new AttentionShape(tokens, 0, heads, kvHeads, d, 0.125f);
        before = gpu.launches.size();
        device.attentionBackward(aq, 3, ak, 1, av, 2, ao, 3, ado, 0, adq, 3, adk, 2, adv, 1, shape);
        assertEquals(before + 2, gpu.launches.size(), "dq and statistics, then dk and dv");
        Launch qPass = gpu.launches.get(before), kvPass = last();
        assertEquals(List.of(Kernel.ATTENTION_BACKWARD_Q, tokens, heads, 1, 128),
                List.of(qPass.kernel(), qPass.gx(), qPass.gy(), qPass.gz(), qPass.block()));
        assertEquals(List.of(Kernel.ATTENTION_BACKWARD_KV, tokens, kvHeads, 1, 128),
                List.of(kvPass.kernel(), kvPass.gx(), kvPass.gy(), kvPass.gz(), kvPass.block()));
        long stats = qPass.raw()[10];
        assertTrue(stats != 0 && gpu.live.get(stats) >= 12L * tokens * heads, "max, 1/sum and D per query row");
        assertEquals(stats, kvPass.raw()[8], "the second pass reads the first's statistics");
        assertEquals(List.of(3L, 1L, 2L, 0L, 3L), List.of(qPass.raw()[1], qPass.raw()[3], qPass.raw()[5],
                qPass.raw()[7], qPass.raw()[9]), "offsets of q, k, v, dOut, dq");
        assertEquals(List.of(2L, 1L), List.of(kvPass.raw()[10], kvPass.raw()[12]), "offsets of dk, dv");
        assertEquals(List.of(tokens, heads, kvHeads, d), List.of(kvPass.intArg(13), kvPass.intArg(14),
                kvPass.intArg(15), kvPass.intArg(16)));
        assertThrows(IllegalArgumentException.class, () -> device.attentionBackward(aq, 3, ak, 1, av, 2, ao, 3, ado, 0,
                adq, 3, adk, 2, adv, 1, new AttentionShape(2, 0, 1, 1, 256, 1f)), "head_dim over 128");
        assertThrows(IllegalArgumentException.class, () -> device.attentionBackward(aq, 3, ak, 1, av, 2, ao, 3, ado, 0,
                adq, 3, adk, 2, adv, 1, new AttentionShape(2, 5, heads, kvHeads, d, 1f)), "startPos not 0");
        assertThrows(IndexOutOfBoundsException.class, () -> device.attentionBackward(aq, 3, ak, 4, av, 2, ao, 3, ado, 0,
                adq, 3, adk, 2, adv, 1, shape), "k past its buffer");
        before = gpu.launches.size();
        device.attentionBackward(aq, 3, ak, 1, av, 2, ao, 3, ado, 0, adq, 3, adk, 2, adv, 1,
                new AttentionShape(0, 0, heads, kvHeads, d, 1f));
        assertEquals(before, gpu.launches.size(), "no tokens, no launch");

        device.adamW(x, 3, dy, 3, dx, 3, c, 3, 10_007, AdamWStep.of(1e-3, 0.9, 0.999, 1e-8, 0.01, 1, true));
        assertEquals(List.of(Kernel.ADAMW, 40, 1), List.of(last().kernel(), last().gx(), last().intArg(11)));
        device.adamW(x, 3, dy, 3, dx, 3, c, 3, 5, AdamWStep.of(1e-3, 0.3, 0.999, 1e-8, 0.01, 1, true));
        assertEquals(0, last().intArg(11), "lerp weight 0.7: the large-weight form");
    }

    /**
     * A decode step's attention over a batch of caches is one launch of attention_batch (and one
     * merge) reading the caches' addresses from a table on the device, uploaded once per batch of
     * caches, which the batch's QKV split reads too; a batch that is not all one-token sequences
     * goes one call at a time.
     */
    @Test
    void batchedDecodeAttentionIsOneLaunchOverATableOfCaches() {
        int heads = 8, kvHeads = 2, d = 64, batch = 3;
        int[] slots = {40, 700, 200};
        long kvRow = (long) kvHeads * d;
        DeviceBuffer q = floats(batch * heads * d), o = floats(batch * heads * d), positions = device.allocate(64);
        List<AttentionCall> calls = new ArrayList<>();
        List<DeviceBuffer> caches = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            DeviceBuffer k = floats(slots[i] * kvRow), v = floats(slots[i] * kvRow);
            caches.add(k);
            caches.add(v);
            calls.add(new AttentionCall(q, 3 + (long) i * heads * d, null, 0, null, 0, 0, k, 3, v, 3, DType.F32,
                    o, 3 + (long) i * heads * d, new AttentionShape(1, 10 * i, heads, kvHeads, d, 0.125f)));
        }
        int uploadsBefore = gpu.uploads.size();
        device.attentionAtPositions(calls, positions, 5, slots);
        assertEquals(2, gpu.launches.size(), "one attention launch and one merge");
        Launch a = gpu.launches.get(0), m = gpu.launches.get(1);
        assertEquals(List.of(Kernel.ATTENTION_BATCH, batch, kvHeads, 6, 128),
                List.of(a.kernel(), a.gx(), a.gy(), a.gz(), a.block()),
                "a block row per sequence, and the 6 splits of the 700-slot cache's own plan");
        assertEquals(List.of((long) batch, (long) heads, (long) kvHeads, (long) d),
                List.of(a.raw()[6], a.raw()[7], a.raw()[8], a.raw()[9]));
        assertEquals(5, a.raw()[12], "positions offset");
        assertEquals(Kernel.ATTENTION_MERGE, m.kernel());
        assertEquals(List.of((long) batch * heads, 3L), List.of(m.raw()[2], m.raw()[5]));
        assertEquals(uploadsBefore + 1, gpu.uploads.size(), "the table of caches");
        java.nio.LongBuffer table = java.nio.ByteBuffer.wrap(gpu.uploads.getLast())
                .order(java.nio.ByteOrder.nativeOrder()).asLongBuffer();
        int[] keysPerSplit = {40, 128, 128};      // each cache's own plan: 1, 6 and 2 splits
        for (int i = 0; i < batch; i++) {
            assertEquals(((CudaBuffer) caches.get(2 * i)).address(gpu) + 4 * 3, table.get(4 * i), "keys of " + i);
            assertEquals(((CudaBuffer) caches.get(2 * i + 1)).address(gpu) + 4 * 3, table.get(4 * i + 1), "values of " + i);
            assertEquals(slots[i], table.get(4 * i + 2), "slots of " + i);
            assertEquals(keysPerSplit[i], table.get(4 * i + 3), "keys per split of " + i);
        }
        // The QKV split of the same step launches once, through the same table.
        gpu.launches.clear();
        List<KvSlots> kv = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            kv.add(new KvSlots(caches.get(2 * i), 3, caches.get(2 * i + 1), 3, slots[i]));
        }
        DeviceBuffer qkv = floats(batch * (heads + 2 * kvHeads) * d), norm = floats(d);
        device.splitQkvAtPositions(qkv, 3, heads, kvHeads, d, norm, 3, norm, 3, DType.F32, 1e-6f, positions, 5, 1e4f,
                q, 3, new int[] {1, 1, 1}, kv);
        assertEquals(uploadsBefore + 1, gpu.uploads.size(), "the table is shared with attention");
        assertEquals(1, gpu.launches.size());
        assertEquals(List.of(Kernel.SPLIT_QKV_BATCH, batch, heads + 2 * kvHeads), List.of(last().kernel(), last().gx(),
                last().gy()));
        assertEquals(a.raw()[2], last().raw()[16], "the same table");
        gpu.launches.clear();
        device.splitQkvAtPositions(qkv, 3, heads, kvHeads, d, norm, 3, norm, 3, DType.F32, 1e-6f, positions, 5, 1e4f,
                q, 3, new int[] {2, 1}, kv.subList(0, 2));
        assertEquals(List.of(Kernel.SPLIT_QKV, Kernel.SPLIT_QKV), gpu.launches.stream().map(Launch::kernel).toList(),
                "a two-row sequence: one launch per sequence");
        gpu.launches.clear();
        // The same caches again: the table is on the device already, and a recording may reuse it.
        device.beginRecording();
        device.attentionAtPositions(calls, positions, 5, slots);
        device.endRecording().close();
        assertEquals(uploadsBefore + 1, gpu.uploads.size(), "no second upload");
        // New caches while recording: the table cannot be uploaded then.
        List<AttentionCall> others = new ArrayList<>(calls);
        others.set(0, new AttentionCall(q, 3, null, 0, null, 0, 0, floats(40 * kvRow), 3, floats(40 * kvRow), 3,
                DType.F32, o, 3, calls.getFirst().shape()));
        device.beginRecording();
        assertThrows(IllegalStateException.class, () -> device.attentionAtPositions(others, positions, 5, slots));
        device.endRecording().close();
        // Two tokens in a sequence (a prefill): one call each.
        gpu.launches.clear();
        List<AttentionCall> prefill = List.of(new AttentionCall(q, 3, null, 0, null, 0, 0, caches.get(0), 3,
                caches.get(1), 3, DType.F32, o, 3, new AttentionShape(2, 0, heads, kvHeads, d, 0.125f)));
        device.attentionAtPositions(prefill, positions, 5, new int[] {40});
        assertEquals(List.of(Kernel.ATTENTION), gpu.launches.stream().map(Launch::kernel).toList());
    }

    @Test
    void prefillAttentionIsOneLaunch() {
        DeviceBuffer q = floats(130 * 4 * 64), k = floats(130 * 64), v = floats(130 * 64), o = floats(130 * 4 * 64);
        device.attention(q, 3, k, 3, v, 3, o, 3, new AttentionShape(130, 0, 4, 1, 64, 0.125f));
        assertEquals(1, gpu.launches.size());
        Launch a = last();
        assertEquals(List.of(Kernel.ATTENTION, 33, 1, 1, 128), List.of(a.kernel(), a.gx(), a.gy(), a.gz(), a.block()));
        assertEquals(0, a.raw()[8], "no partials");
        assertEquals(130, a.intArg(15), "one split holds every key");
    }

    @Test
    void decodeAttentionSplitsTheKeysAndMerges() {
        int heads = 8, kvHeads = 2, d = 64, start = 2047;
        DeviceBuffer q = floats(heads * d), k = floats(2048 * kvHeads * d), v = floats(2048 * kvHeads * d),
                o = floats(heads * d);
        device.attention(q, 3, k, 3, v, 3, o, 3, new AttentionShape(1, start, heads, kvHeads, d, 0.125f));
        assertEquals(2, gpu.launches.size());
        Launch a = gpu.launches.get(0), m = gpu.launches.get(1);
        assertEquals(List.of(Kernel.ATTENTION, 1, kvHeads, 16), List.of(a.kernel(), a.gx(), a.gy(), a.gz()));
        assertEquals(128, a.intArg(15), "keys per split");
        long part = a.raw()[8];
        assertTrue(part != 0);
        assertTrue(gpu.live.get(part) >= 4L * 16 * heads * (d + 2), "partials hold every split's rows");
        assertEquals(Kernel.ATTENTION_MERGE, m.kernel());
        assertEquals(List.of(part, 16L, (long) heads, (long) d, a.raw()[6], 3L),
                List.of(m.raw()[0], m.raw()[1], m.raw()[2], m.raw()[3], m.raw()[4], m.raw()[5]));
        assertEquals(heads, m.gx());
        // A short cache is one split, written directly.
        device.attention(q, 3, k, 3, v, 3, o, 3, new AttentionShape(1, 100, heads, kvHeads, d, 0.125f));
        assertEquals(Kernel.ATTENTION, last().kernel());
        assertEquals(0, last().raw()[8]);
        assertThrows(IllegalArgumentException.class,
                () -> device.attention(q, 3, k, 3, v, 3, o, 3, new AttentionShape(1, 0, 1, 1, 256, 1f)));
    }

    @Test
    void buffersAreCheckedAndFreed() {
        DeviceBuffer b = device.allocate(4096);
        try (Arena arena = Arena.ofConfined()) {
            device.upload(arena.allocate(100), b, 1000);
            device.upload(MemorySegment.ofArray(new byte[100]), b, 0);  // heap: staged
            device.download(b, 999, arena.allocate(102));
            device.download(b, 0, MemorySegment.ofArray(new float[8]));
            assertThrows(IndexOutOfBoundsException.class, () -> device.upload(arena.allocate(100), b, 4000));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> device.copy(b, 1000, b, 0, 100));
        b.close();
        b.close();
        assertThrows(IllegalStateException.class, () -> device.copy(b, 0, b, 0, 1));
        int before = gpu.live.size();
        device.close();
        assertEquals(before, gpu.live.size(), "closing the device leaves the caller's buffers to the context");
    }
}
