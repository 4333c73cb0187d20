package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.ScratchAllocator;

/**
 * Parity with Hugging Face transformers on the committed fixtures (made by
 * model/src/test/python/make_fixtures.py): F32 logits within 1e-4, exact greedy continuations,
 * and the internal consistency checks — cached decode equals full recompute, a batch equals its
 * sequences run one by one.
 */
class FixtureParityTest {
    private static final double LOGIT_TOLERANCE = 1e-4;

    static Path fixture(String name) {
        try {
            return Path.of(FixtureParityTest.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode expected(String name) throws IOException {
        return new ObjectMapper().readTree(fixture(name).resolve("expected.json").toFile());
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void logitsMatchTransformers(String name) throws IOException {
        JsonNode exp = expected(name);
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture(name))) {
            for (int p = 0; p < exp.get("prompts").size(); p++) {
                int[] prompt = ints(exp.get("prompts").get(p));
                float[] logits = logits(model, backend, prompt);
                JsonNode rows = exp.get("logits").get(p);
                int vocab = model.config().vocabSize();
                double worst = 0;
                for (int pos = 0; pos < prompt.length; pos++) {
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(worst, Math.abs(logits[pos * vocab + v] - rows.get(pos).get(v).asDouble()));
                    }
                }
                assertTrue(worst <= LOGIT_TOLERANCE, name + " prompt " + p + ": max |Δlogit| = " + worst);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void greedyMatchesTransformersAndBatchEqualsSingles(String name) throws IOException {
        JsonNode exp = expected(name);
        List<int[]> prompts = new ArrayList<>();
        exp.get("prompts").forEach(p -> prompts.add(ints(p)));
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture(name))) {
            Generator generator = new Generator(model, backend);
            GenerationConfig greedy = new GenerationConfig(10, SamplingParams.GREEDY, 0, Set.of());
            List<Generator.Result> batched = generator.generate(prompts, greedy);
            for (int p = 0; p < prompts.size(); p++) {
                int[] want = ints(exp.get("greedy").get(p));
                assertArrayEquals(want, batched.get(p).tokens(), name + " prompt " + p + " in a batch");
                Generator.Result single = generator.generate(List.of(prompts.get(p)), greedy).getFirst();
                assertArrayEquals(want, single.tokens(), name + " prompt " + p + " alone");
                assertArrayEquals(single.logprobs(), batched.get(p).logprobs(), 1e-5, name + " logprobs, batch vs single");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-f16-sharded"})
    void cachedDecodeEqualsFullRecompute(String name) throws IOException {
        JsonNode exp = expected(name);
        int[] prompt = ints(exp.get("prompts").get(1));
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture(name));
             ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
             KvCache cache = new KvCache(model.config(), backend, prompt.length)) {
            int vocab = model.config().vocabSize();
            float[] full = logits(model, backend, prompt);
            Ops ops = new Ops(scratch);
            // Prefill the first 5 tokens, then feed the rest one at a time through the cache.
            int split = 5;
            float[] head = model.forward(ops, List.of(java.util.Arrays.copyOf(prompt, split)), List.of(cache), true).toFloatArray();
            for (int i = 0; i < split * vocab; i++) {
                assertEquals(full[i], head[i], 1e-5, "prefill position " + i / vocab);
            }
            for (int pos = split; pos < prompt.length; pos++) {
                float[] step = model.forward(ops, List.of(new int[] {prompt[pos]}), List.of(cache), false).toFloatArray();
                scratch.reset();
                for (int v = 0; v < vocab; v++) {
                    assertEquals(full[pos * vocab + v], step[v], 1e-5, "decode position " + pos + " logit " + v);
                }
            }
            assertEquals(prompt.length, cache.length());
        }
    }

    static float[] logits(Qwen3Model model, CpuBackend backend, int[] prompt) {
        try (ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
             KvCache cache = new KvCache(model.config(), backend, prompt.length)) {
            return model.forward(new Ops(scratch), List.of(prompt), List.of(cache), true).toFloatArray();
        }
    }
}
