package org.reflectrm.model.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.generate.Qwen3LanguageModel;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.FixtureParityAccess;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Ops;

/**
 * The one model's forward on a device (fused where the device asks for it, with recorded decode
 * steps where it records) against Hugging Face transformers' logits on the committed
 * fixtures (made by model/src/test/python/make_fixtures.py) and against the CPU forward: logits
 * within 1e-3, the same greedy tokens, cached decode equal to a full recompute, prefix sharing
 * equal to whole prefills. A device class extends this; an absent device skips visibly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DeviceForwardContract {
    private static final double LOGIT_TOLERANCE = 1e-3;

    private Device device;
    private CpuBackend cpu;

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
    }

    private static Path fixture(String name) {
        return FixtureParityAccess.fixture(name);
    }

    private static JsonNode expected(String name) throws IOException {
        return FixtureParityAccess.expected(name);
    }

    private static int[] ints(JsonNode array) {
        return FixtureParityAccess.ints(array);
    }

    private static List<int[]> prompts(JsonNode exp) {
        List<int[]> prompts = new ArrayList<>();
        exp.get("prompts").forEach(p -> prompts.add(ints(p)));
        return prompts;
    }

    /** A model put on the device under test, as {@code ModelRuntime} puts one there. */
    private final class OnDevice implements AutoCloseable {
        final DeviceTensors memory = new DeviceTensors(device);
        final Qwen3Model model;
        final Qwen3LanguageModel language;

        OnDevice(Qwen3Model host) {
            this(host, true);
        }

        OnDevice(Qwen3Model host, boolean recordDecodeSteps) {
            model = host.on(memory);
            language = new Qwen3LanguageModel(model, device, DType.F32, recordDecodeSteps);
        }

        /** Logits at every position of {@code tokens} after the cache's, in one forward. */
        float[] logits(int[] tokens, KvCache cache) {
            try (Allocator scratch = Allocator.scratch(device, 64L << 20)) {
                Ops ops = new Ops(scratch);
                assertEquals(device.fusesForward(), model.fuses(ops, List.of(cache)),
                        "the forward is fused exactly where the device asks for it");
                return model.forward(ops, List.of(tokens), List.of(cache), true).toFloatArray();
            }
        }

        /** Logits at every position of {@code prompt}, prefilled in one forward. */
        float[] allLogits(int[] prompt) {
            try (KvCache cache = new KvCache(model.config(), device, prompt.length, null, 0)) {
                return logits(prompt, cache);
            }
        }

        @Override
        public void close() {
            device.synchronize();
            memory.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void logitsMatchTransformersAndTheCpu(String name) throws IOException {
        JsonNode exp = expected(name);
        try (Qwen3Model model = Qwen3Model.load(fixture(name)); OnDevice onDevice = new OnDevice(model)) {
            int vocab = model.config().vocabSize();
            for (int p = 0; p < exp.get("prompts").size(); p++) {
                int[] prompt = ints(exp.get("prompts").get(p));
                float[] got = onDevice.allLogits(prompt);
                float[] cpuLogits = FixtureParityAccess.logits(model, cpu, prompt);
                JsonNode rows = exp.get("logits").get(p);
                double worstHf = 0, worstCpu = 0;
                for (int pos = 0; pos < prompt.length; pos++) {
                    for (int v = 0; v < vocab; v++) {
                        int i = pos * vocab + v;
                        worstHf = Math.max(worstHf, Math.abs(got[i] - rows.get(pos).get(v).asDouble()));
                        worstCpu = Math.max(worstCpu, Math.abs(got[i] - cpuLogits[i]));
                    }
                }
                assertTrue(worstHf <= LOGIT_TOLERANCE, name + " prompt " + p + ": max |Δlogit| vs transformers " + worstHf);
                assertTrue(worstCpu <= LOGIT_TOLERANCE, name + " prompt " + p + ": max |Δlogit| vs the CPU " + worstCpu);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void greedyTokensMatchTransformersBatchedAndAlone(String name) throws IOException {
        JsonNode exp = expected(name);
        List<int[]> prompts = prompts(exp);
        try (Qwen3Model model = Qwen3Model.load(fixture(name)); OnDevice onDevice = new OnDevice(model)) {
            Generator generator = new Generator(onDevice.language);
            GenerationConfig greedy = new GenerationConfig(10, SamplingParams.GREEDY, 0, Set.of());
            List<Generator.Result> batched = generator.generate(prompts, greedy);
            for (int p = 0; p < prompts.size(); p++) {
                int[] want = ints(exp.get("greedy").get(p));
                assertArrayEquals(want, batched.get(p).tokens(), name + " prompt " + p + " in a batch");
                Generator.Result single = generator.generate(List.of(prompts.get(p)), greedy).getFirst();
                assertArrayEquals(want, single.tokens(), name + " prompt " + p + " alone");
                assertArrayEquals(single.logprobs(), batched.get(p).logprobs(), 1e-4, name + " logprobs, batch vs single");
            }
        }
    }

    /**
     * Weights cross the bus once, when the model is put on the device; a decode step then moves
     * only its token ids and positions up (16 bytes for two sequences) and its logits down (the
     * first decode step of a batch may add the small tables of cache addresses). A later step
     * that re-sent any weight (the smallest here, a q/k norm, is 32 bytes) would fail.
     */
    @Test
    void weightsMoveOnceAndDecodeStepsMoveOnlyTokensAndLogits() throws IOException {
        try (Qwen3Model model = Qwen3Model.load(fixture("tiny-bf16-tied"))) {
            Transfers.Count start = device.transfers();
            try (OnDevice onDevice = new OnDevice(model);
                 LanguageModel.Session session = onDevice.language.open();
                 LanguageModel.Cache a = session.newCache(16); LanguageModel.Cache b = session.newCache(16)) {
                Transfers.Count load = device.transfers().since(start);
                assertTrue(load.uploadedBytes() >= onDevice.memory.bytes(),
                        "the load uploaded " + load.uploadedBytes() + " bytes of " + onDevice.memory.bytes() + " of weights");
                int vocab = model.config().vocabSize();
                session.forward(List.of(new int[] {5, 9, 14, 2}, new int[] {7, 1, 3}), List.of(a, b));
                for (int step = 0; step < 6; step++) {
                    Transfers.Count before = device.transfers();
                    session.forward(List.of(new int[] {3 + step}, new int[] {20 + step}), List.of(a, b));
                    Transfers.Count moved = device.transfers().since(before);
                    // The first decode step of a batch may also upload, once, a table of the caches
                    // per layer (CUDA's batched split and attention): 2 caches × 4 longs of 8 bytes.
                    long tables = step == 0 ? 64L * model.config().numHiddenLayers() : 0;
                    assertTrue(moved.uploadedBytes() >= 16 && moved.uploadedBytes() <= 16 + tables,
                            "decode step " + step + " uploaded " + moved.uploadedBytes() + " bytes (2 ids and 2 positions)");
                    assertEquals(2L * vocab * Float.BYTES, moved.downloadedBytes(), "decode step " + step + " downloaded");
                }
            }
        }
    }

    @Test
    void cachedDecodeEqualsFullRecompute() throws IOException {
        int[] prompt = ints(expected("tiny-f16-sharded").get("prompts").get(1));
        try (Qwen3Model model = Qwen3Model.load(fixture("tiny-f16-sharded"));
             OnDevice onDevice = new OnDevice(model);
             KvCache cache = new KvCache(model.config(), device, prompt.length, null, 0)) {
            int vocab = model.config().vocabSize();
            float[] full = onDevice.allLogits(prompt);
            int split = 5;
            float[] head = onDevice.logits(java.util.Arrays.copyOf(prompt, split), cache);
            for (int i = 0; i < split * vocab; i++) {
                assertEquals(full[i], head[i], 1e-4, "prefill position " + i / vocab);
            }
            for (int pos = split; pos < prompt.length; pos++) {
                float[] step = onDevice.logits(new int[] {prompt[pos]}, cache);
                for (int v = 0; v < vocab; v++) {
                    assertEquals(full[pos * vocab + v], step[v], 1e-4, "decode position " + pos + " logit " + v);
                }
            }
            assertEquals(prompt.length, cache.length());
        }
    }

    @Test
    void recordedDecodeStepsEqualDirectOnesAsTheBatchShrinks() throws IOException {
        // Three prompts of different lengths (so different cache lengths), decoded greedily step
        // by step; after four steps the middle one stops, which must make a new recording.
        List<int[]> prompts = List.of(new int[] {5, 9, 14, 2}, new int[] {7, 1, 3, 3, 8, 21, 40}, new int[] {11});
        try (Qwen3Model model = Qwen3Model.load(fixture("tiny-bf16-tied"));
             OnDevice recorded = new OnDevice(model, true);
             OnDevice direct = new OnDevice(model, false)) {
            List<float[]> a = decodeSteps(recorded.language, prompts, model.config().vocabSize());
            List<float[]> b = decodeSteps(direct.language, prompts, model.config().vocabSize());
            for (int step = 0; step < a.size(); step++) {
                assertArrayEquals(b.get(step), a.get(step), "step " + step + ": recorded vs direct logits");
            }
            assertEquals(0, direct.language.replayedSteps());
            if (device instanceof org.reflectrm.kernels.device.RecordingDevice && device.fusesForward()) {
                // Each batch's first decode step is recorded (or, if a buffer must grow first,
                // runs directly and the next is): at least steps 2-4 and 6-10 of the 10 replay.
                assertTrue(recorded.language.replayedSteps() >= 8, recorded.language.replayedSteps() + " steps replayed");
            }
        }
    }

    /** Prefill, then 10 greedy decode steps; sequence 1 stops after step 4. Logits of every step. */
    private static List<float[]> decodeSteps(LanguageModel m, List<int[]> prompts, int vocab) {
        List<float[]> out = new ArrayList<>();
        try (LanguageModel.Session session = m.open()) {
            List<LanguageModel.Cache> caches = new ArrayList<>();
            for (int[] p : prompts) {
                caches.add(session.newCache(p.length + 12));
            }
            List<int[]> next = new ArrayList<>(prompts);
            List<LanguageModel.Cache> active = new ArrayList<>(caches);
            for (int step = 0; step <= 10; step++) {
                float[] logits = session.forward(next, active);
                out.add(logits);
                next = new ArrayList<>();
                for (int r = 0; r < active.size(); r++) {
                    next.add(new int[] {org.reflectrm.model.generate.Sampler.argmax(
                            java.util.Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab))});
                }
                if (step == 4) {
                    active.remove(1);
                    next.remove(1);
                }
            }
            caches.forEach(LanguageModel.Cache::close);
        }
        return out;
    }

    @Test
    void sharedPrefixesMatchWholePrefillsAndTheCpu() throws IOException {
        // Three prompts with a 20-token common head: the generator prefills it once and copies it.
        List<int[]> prompts = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            int[] seq = new int[20 + 3 + p];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = i < 20 ? (7 * i + 3) % 90 : (11 * i + 5 * p) % 90;
            }
            prompts.add(seq);
        }
        GenerationConfig greedy = new GenerationConfig(6, SamplingParams.GREEDY, 0, Set.of());
        try (Qwen3Model model = Qwen3Model.load(fixture("tiny-f32-untied"));
             OnDevice onDevice = new OnDevice(model)) {
            List<Generator.Result> shared = new Generator(onDevice.language).generate(prompts, greedy);
            List<Generator.Result> whole = new Generator(onDevice.language).sharePrefixes(false).generate(prompts, greedy);
            List<Generator.Result> onCpu = new Generator(model, cpu).generate(prompts, greedy);
            for (int p = 0; p < prompts.size(); p++) {
                assertArrayEquals(whole.get(p).tokens(), shared.get(p).tokens(), "prompt " + p + " shared vs whole");
                assertArrayEquals(onCpu.get(p).tokens(), shared.get(p).tokens(), "prompt " + p + " device vs CPU");
                assertArrayEquals(onCpu.get(p).logprobs(), shared.get(p).logprobs(), 1e-4, "prompt " + p + " logprobs");
            }
        }
    }
}
