package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.ScratchAllocator;
import org.reflectrm.tensor.Tensor;

/**
 * The whole model's loss and gradients against PyTorch autograd, on fixtures made by
 * model/src/test/python/make_grad_fixtures.py: loss within 1e-5 relative, every parameter's
 * gradient norm within 1e-3 relative, and a few small gradients element by element.
 */
class GradientParityTest {
    static final Path FIXTURES = fixturesRoot();

    static Path fixturesRoot() {
        try {
            return Path.of(GradientParityTest.class.getResource("/fixtures").toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(String file) throws IOException {
        return new ObjectMapper().readTree(FIXTURES.resolve("grad").resolve(file).toFile());
    }

    static List<int[]> sequences(JsonNode c) {
        List<int[]> out = new ArrayList<>();
        for (JsonNode s : c.get("sequences")) {
            int[] ids = new int[s.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = s.get(i).asInt();
            }
            out.add(ids);
        }
        return out;
    }

    static List<boolean[]> masks(JsonNode c) {
        List<boolean[]> out = new ArrayList<>();
        for (JsonNode m : c.get("masks")) {
            boolean[] mask = new boolean[m.size()];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = m.get(i).asInt() == 1;
            }
            out.add(mask);
        }
        return out;
    }

    static void assertNorms(JsonNode expected, Map<String, Double> actual, String caseName) {
        assertEquals(expected.size(), actual.size(), caseName + ": parameter count");
        expected.fields().forEachRemaining(e -> {
            Double got = actual.get(e.getKey());
            assertTrue(got != null, caseName + ": no gradient for " + e.getKey());
            double want = e.getValue().asDouble();
            assertEquals(want, got, 1e-3 * want + 1e-9, caseName + ": gradient norm of " + e.getKey());
        });
    }

    @ParameterizedTest(name = "activation checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void fullModelGradientsMatchPytorch(boolean checkpointing) throws IOException {
        for (JsonNode c : json("full.json").get("cases")) {
            String name = c.get("name").asText() + "/" + c.get("model").asText() + (checkpointing ? "/checkpointed" : "");
            try (CpuBackend backend = new CpuBackend(2);
                 Qwen3Model base = Qwen3Model.load(FIXTURES.resolve(c.get("model").asText()));
                 ParameterSet params = new ParameterSet(backend);
                 ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20)) {
                Qwen3Model model = FullFineTune.of(base, params).withActivationCheckpointing(checkpointing);
                List<boolean[]> masks = masks(c);
                double loss = Backprop.lossAndGradients(model, scratch, sequences(c), masks,
                        Backprop.countTargets(masks));
                double want = c.get("loss").asDouble();
                assertEquals(want, loss, 1e-5 * want, name + ": loss");
                assertNorms(c.get("grad_norms"), params.gradNorms(), name);
                c.get("grads").fields().forEachRemaining(e -> {
                    Tensor g = params.get(e.getKey()).grad();
                    double scale = 0;
                    for (JsonNode v : e.getValue()) {
                        scale = Math.max(scale, Math.abs(v.asDouble()));
                    }
                    for (int i = 0; i < e.getValue().size(); i++) {
                        assertEquals(e.getValue().get(i).asDouble(), g.getFloat(i), 1e-4 * scale,
                                name + ": " + e.getKey() + "[" + i + "]");
                    }
                });
            }
        }
    }

    @ParameterizedTest(name = "activation checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void loraGradientsMatchPeft(boolean checkpointing) throws IOException {
        JsonNode c = json("lora.json");
        try (CpuBackend backend = new CpuBackend(2);
             Qwen3Model base = Qwen3Model.load(FIXTURES.resolve(c.get("base").asText()));
             ParameterSet params = new ParameterSet(backend);
             ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20)) {
            LoraAdapter lora = LoraAdapter.load(FIXTURES.resolve("grad").resolve(c.get("adapter").asText()), base.config(), params);
            Qwen3Model model = base.with(base.weights(), lora).withActivationCheckpointing(checkpointing);
            List<boolean[]> masks = masks(c);
            double loss = Backprop.lossAndGradients(model, scratch, sequences(c), masks, Backprop.countTargets(masks));
            double want = c.get("loss").asDouble();
            assertEquals(want, loss, 1e-5 * want, "LoRA loss");
            assertNorms(c.get("grad_norms"), params.gradNorms(), "LoRA");
        }
    }
}
