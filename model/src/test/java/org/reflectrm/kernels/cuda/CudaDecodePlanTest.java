package org.reflectrm.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.generate.Qwen3LanguageModel;
import org.reflectrm.model.qwen3.FixtureParityAccess;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.DeviceTensors;

/**
 * The launches the one model makes on CUDA, on machines without a GPU: {@link CudaDevice} over a
 * driver stand-in that records launches and graph captures (the kernels do not run, so logits
 * are whatever the memory holds). It pins what GPU decode speed rests on: a decode step is one
 * replay of a recorded graph, one upload of ids and positions and one download of logits; and
 * the recorded step is the fused plan, per layer a norm+QKV projection, one QKV split into the
 * caches and one attention launch for the whole batch, the output projection into the residual, norm+gate/up+SiLU and the
 * down projection into the residual.
 */
class CudaDecodePlanTest {

    /** A driver stand-in: memory is addresses only; launches and captures are recorded. */
    static final class FakeGpu implements Gpu {
        final List<String> launches = new ArrayList<>();
        /** Captured graphs not yet destroyed, by handle. */
        final Map<Long, List<String>> graphs = new HashMap<>();
        long captures;
        List<String> capture;
        int uploads, downloads, graphLaunches;
        long uploadedBytes;
        long next = 0x10_0000L;

        @Override
        public String description() {
            return "fake";
        }

        @Override
        public long memoryBytes() {
            return 1L << 34;
        }

        @Override
        public long allocate(long bytes) {
            long a = next;
            next += (bytes + 511) / 256 * 256;
            return a;
        }

        @Override
        public void free(long address) {
        }

        @Override
        public void upload(MemorySegment src, long dst) {
            uploads++;
            uploadedBytes += src.byteSize();
        }

        @Override
        public void download(long src, MemorySegment dst) {
            downloads++;
        }

        @Override
        public void synchronize() {
        }

        @Override
        public void launch(Kernel kernel, int gx, int gy, int gz, int block, KernelArgs args) {
            args.check(kernel);
            (capture != null ? capture : launches).add(kernel.symbol);
        }

        @Override
        public void beginCapture() {
            capture = new ArrayList<>();
        }

        @Override
        public MemorySegment endCapture() {
            long id = ++captures;
            graphs.put(id, capture);
            capture = null;
            return MemorySegment.ofAddress(id);
        }

        @Override
        public void launchGraph(MemorySegment graph) {
            graphLaunches++;
        }

        @Override
        public void destroyGraph(MemorySegment graph) {
            graphs.remove(graph.address());
        }

        @Override
        public void close() {
        }
    }

    @Test
    void decodeStepsReplayOneRecordingOfTheFusedPlan() throws Exception {
        FakeGpu gpu = new FakeGpu();
        List<String> plan;
        int layers;
        try (Qwen3Model model = Qwen3Model.load(FixtureParityAccess.fixture("tiny-bf16-tied"));
             CudaDevice cuda = new CudaDevice(gpu);
             DeviceTensors memory = new DeviceTensors(cuda)) {
            layers = model.config().numHiddenLayers();
            LanguageModel language = new Qwen3LanguageModel(model.on(memory), cuda);
            try (LanguageModel.Session session = language.open();
                 LanguageModel.Cache a = session.newCache(32); LanguageModel.Cache b = session.newCache(32)) {
                session.forward(List.of(new int[] {5, 9, 14, 2}, new int[] {7, 1, 3}), List.of(a, b));
                // The first decode step may need scratch of its own sizes and so run directly;
                // by the second, the step is recorded.
                long before = gpu.uploadedBytes;
                session.forward(List.of(new int[] {3}, new int[] {20}), List.of(a, b));
                assertEquals(16 + 64L * layers, gpu.uploadedBytes - before,
                        "ids and positions, and per layer the table of the 2 caches (4 longs each)");
                before = gpu.uploadedBytes;
                session.forward(List.of(new int[] {4}, new int[] {21}), List.of(a, b));
                assertEquals(16, gpu.uploadedBytes - before, "the tables are on the device already");
                assertEquals(1, gpu.graphs.size(), "one live recording");
                int launches = gpu.launches.size(), uploads = gpu.uploads, downloads = gpu.downloads;
                long uploaded = gpu.uploadedBytes;
                int replays = gpu.graphLaunches;
                for (int step = 0; step < 5; step++) {
                    session.forward(List.of(new int[] {5 + step}, new int[] {22 + step}), List.of(a, b));
                }
                assertEquals(launches, gpu.launches.size(), "no kernel launched outside the recording");
                assertEquals(replays + 5, gpu.graphLaunches, "one replay per step");
                assertEquals(uploads + 5, gpu.uploads, "one upload per step");
                assertEquals(uploaded + 5 * 16, gpu.uploadedBytes, "2 ids and 2 positions per step");
                assertEquals(downloads + 5, gpu.downloads, "one download per step");
                assertEquals(1, gpu.graphs.size(), "still the one recording");
                assertEquals(List.of(4 + 7, 3 + 7), List.of(a.length(), b.length()), "the caches advanced by 7 steps");
                plan = gpu.graphs.values().iterator().next();
            }
            assertTrue(gpu.graphs.isEmpty(), "closing the session destroys the recording");
        }
        List<String> layer = List.of("rms_linear_gemv_bf16",
                "split_qkv_batch", "attention_batch",
                "linear_gemv_bf16", "gate_up_gemv_bf16", "linear_gemv_bf16");
        List<String> want = new ArrayList<>();
        want.add("embedding_bf16");
        for (int l = 0; l < layers; l++) {
            want.addAll(layer);
        }
        want.add("rms_linear_gemv_bf16");
        assertEquals(want, plan.stream().filter(s -> !s.equals("attention_merge")).toList());
    }
}
