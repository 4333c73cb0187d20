package org.reflectrm.reflect.grpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.FullFineTune;
import org.reflectrm.model.train.ParameterSet;
import org.reflectrm.tensor.ScratchAllocator;
import org.reflectrm.tensor.Tensor;

/**
 * The GRPO loss and its gradients against TRL's own {@code GRPOTrainer._compute_loss} on fixed
 * inputs ({@code src/test/python/make_grpo_fixture.py}): every loss type, clipping active on both
 * sides, β > 0 with TRL's bias-corrected KL and without, a temperature, and old log-probabilities
 * given or taken from the current policy.
 */
class GrpoLossTrlParityTest {
    private static final Path MODEL = Path.of("../model/src/test/resources/fixtures/tiny-f32-untied");
    private static JsonNode fixture;

    @BeforeAll
    static void load() throws Exception {
        fixture = new ObjectMapper().readTree(GrpoLossTrlParityTest.class.getResourceAsStream("/grpo/loss.json"));
    }

    static Stream<Arguments> cases() throws Exception {
        load();
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            out.add(Arguments.of(c.get("name").asText(), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientsMatchTrl(String name, JsonNode c) {
        GrpoLoss loss = new GrpoLoss(new GrpoLoss.Settings(GrpoLoss.Type.parse(c.get("loss_type").asText()),
                c.get("epsilon").asDouble(), c.get("epsilon_high").asDouble(), c.get("beta").asDouble(),
                c.get("use_bias_correction_kl").asBoolean(), c.get("temperature").asDouble(),
                c.get("max_completion_length").asInt()));
        List<GrpoLoss.Sample> samples = samples(c.get("old_logps").asText().equals("given"));
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model base = Qwen3Model.load(MODEL);
             ParameterSet params = new ParameterSet(backend);
             ScratchAllocator scratch = new ScratchAllocator(backend, 16L << 20)) {
            Qwen3Model model = FullFineTune.of(base, params);
            params.zeroGrad();
            GrpoLoss.Stats stats = loss.lossAndGradients(model, scratch, samples, loss.tokenWeights(samples));

            double expected = c.get("loss").asDouble();
            assertEquals(expected, stats.loss(), 2e-6 + 1e-5 * Math.abs(expected), name + ": loss");
            assertEquals(c.get("clipped_low_tokens").asLong(), stats.clippedLow(), name + ": low-clipped tokens");
            assertEquals(c.get("clipped_high_tokens").asLong(), stats.clippedHigh(), name + ": high-clipped tokens");
            JsonNode trlLogps = c.get("per_token_logps");
            for (int s = 0; s < samples.size(); s++) {
                for (int t = 0; t < samples.get(s).completion().length; t++) {
                    assertEquals(trlLogps.get(s).get(t).asDouble(), stats.logprobs()[s][t], 2e-5, name + ": logp " + s + "," + t);
                }
            }
            Map<String, Double> norms = params.gradNorms();
            JsonNode trlNorms = c.get("grad_norms");
            assertEquals(trlNorms.size(), norms.size(), "parameter count");
            trlNorms.fieldNames().forEachRemaining(p -> {
                double want = trlNorms.get(p).asDouble();
                assertTrue(norms.containsKey(p), "no parameter " + p);
                assertEquals(want, norms.get(p), 1e-6 + 2e-4 * want, name + ": |grad| of " + p);
            });
            JsonNode grads = c.get("grads");
            assertVector(grads.get("model.norm.weight"), params.get("model.norm.weight").grad(), 0, name);
            assertVector(grads.get("model.layers.1.self_attn.q_norm.weight"),
                    params.get("model.layers.1.self_attn.q_norm.weight").grad(), 0, name);
            Tensor head = params.get("lm_head.weight").grad();
            assertVector(grads.get("lm_head.weight_row_7"), head, 7L * head.dim(1), name);
        }
    }

    private static void assertVector(JsonNode want, Tensor grad, long offset, String name) {
        double scale = 0;
        for (JsonNode v : want) {
            scale = Math.max(scale, Math.abs(v.asDouble()));
        }
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).asDouble(), grad.getFloat(offset + i), 1e-7 + 2e-4 * scale, name + ": grad element " + i);
        }
    }

    /** The fixture's batch without its padding: each completion as long as its mask says. */
    private static List<GrpoLoss.Sample> samples(boolean oldGiven) {
        List<GrpoLoss.Sample> out = new ArrayList<>();
        for (int s = 0; s < fixture.get("prompt_ids").size(); s++) {
            int len = 0;
            for (JsonNode m : fixture.get("completion_mask").get(s)) {
                len += m.asInt();
            }
            int[] prompt = ints(fixture.get("prompt_ids").get(s), fixture.get("prompt_ids").get(s).size());
            int[] completion = ints(fixture.get("completion_ids").get(s), len);
            double[] old = doubles(fixture.get("old_per_token_logps").get(s), len);
            double[] ref = doubles(fixture.get("ref_per_token_logps").get(s), len);
            out.add(new GrpoLoss.Sample(prompt, completion, fixture.get("advantages").get(s).asDouble(),
                    oldGiven ? old : null, ref));
        }
        return out;
    }

    private static int[] ints(JsonNode a, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    private static double[] doubles(JsonNode a, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = a.get(i).asDouble();
        }
        return out;
    }
}
