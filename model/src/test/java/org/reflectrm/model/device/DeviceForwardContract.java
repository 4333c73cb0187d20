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
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.FixtureParityAccess;
import org.reflectrm.model.qwen3.Qwen3Model;

/**
 * The device-resident forward against Hugging Face transformers' logits on the committed
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

    /** Logits at every position of {@code prompt}, prefilled in one forward. */
    private static float[] allLogits(DeviceQwen3 model, int[] prompt) {
        try (DeviceQwen3.DeviceSession session = model.open(); LanguageModel.Cache cache = session.newCache(prompt.length)) {
            return session.forwardAll(List.of(prompt), List.of(cache));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void logitsMatchTransformersAndTheCpu(String name) throws IOException {
        JsonNode exp = expected(name);
        try (Qwen3Model model = Qwen3Model.load(fixture(name)); DeviceQwen3 onDevice = new DeviceQwen3(model, device)) {
            int vocab = model.config().vocabSize();
            for (int p = 0; p < exp.get("prompts").size(); p++) {
                int[] prompt = ints(exp.get("prompts").get(p));
                float[] got = allLogits(onDevice, prompt);
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
        try (Qwen3Model model = Qwen3Model.load(fixture(name)); DeviceQwen3 onDevice = new DeviceQwen3(model, device)) {
            Generator generator = new Generator(onDevice);
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

    @Test
    void cachedDecodeEqualsFullRecompute() throws IOException {
        int[] prompt = ints(expected("tiny-f16-sharded").get("prompts").get(1));
        try (Qwen3Model model = Qwen3Model.load(fixture("tiny-f16-sharded"));
             DeviceQwen3 onDevice = new DeviceQwen3(model, device);
             DeviceQwen3.DeviceSession session = onDevice.open();
             LanguageModel.Cache cache = session.newCache(prompt.length)) {
            int vocab = model.config().vocabSize();
            float[] full = allLogits(onDevice, prompt);
            int split = 5;
            float[] head = session.forwardAll(List.of(java.util.Arrays.copyOf(prompt, split)), List.of(cache));
            for (int i = 0; i < split * vocab; i++) {
                assertEquals(full[i], head[i], 1e-4, "prefill position " + i / vocab);
            }
            for (int pos = split; pos < prompt.length; pos++) {
                float[] step = session.forward(List.of(new int[] {prompt[pos]}), List.of(cache));
                for (int v = 0; v < vocab; v++) {
                    assertEquals(full[pos * vocab + v], step[v], 1e-4, "decode position " + pos + " logit " + v);
                }
            }
            assertEquals(prompt.length, cache.length());
        }
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
             DeviceQwen3 onDevice = new DeviceQwen3(model, device)) {
            List<Generator.Result> shared = new Generator(onDevice).generate(prompts, greedy);
            List<Generator.Result> whole = new Generator(onDevice).sharePrefixes(false).generate(prompts, greedy);
            List<Generator.Result> onCpu = new Generator(model, cpu).generate(prompts, greedy);
            for (int p = 0; p < prompts.size(); p++) {
                assertArrayEquals(whole.get(p).tokens(), shared.get(p).tokens(), "prompt " + p + " shared vs whole");
                assertArrayEquals(onCpu.get(p).tokens(), shared.get(p).tokens(), "prompt " + p + " device vs CPU");
                assertArrayEquals(onCpu.get(p).logprobs(), shared.get(p).logprobs(), 1e-4, "prompt " + p + " logprobs");
            }
        }
    }
}
