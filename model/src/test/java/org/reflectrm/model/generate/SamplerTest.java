package org.reflectrm.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The sampler against transformers' own warpers (fixture from
 * model/src/test/python/make_sampling_fixture.py): the same surviving tokens with the same
 * probabilities, for temperature, top-k (with ties), top-p and min-p combinations.
 */
class SamplerTest {

    private static JsonNode fixture() throws IOException {
        try (InputStream in = SamplerTest.class.getResourceAsStream("/sampling/warpers.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static float[] row(JsonNode node) {
        float[] out = new float[node.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) node.get(i).asDouble();
        }
        return out;
    }

    @Test
    void filtersMatchTransformersWarpers() throws IOException {
        JsonNode f = fixture();
        int checked = 0;
        for (JsonNode c : f.get("cases")) {
            float[] logits = row(f.get("logits").get(c.get("row").asInt()));
            Sampler sampler = new Sampler(SamplingParams.sample(c.get("temperature").asDouble(), c.get("top_k").asInt(),
                    c.get("top_p").asDouble(), c.get("min_p").asDouble()));
            Sampler.Distribution d = sampler.distribution(logits);
            int[] want = new int[c.get("kept").size()];
            for (int i = 0; i < want.length; i++) {
                want[i] = c.get("kept").get(i).asInt();
            }
            if (c.get("tie_at_cut").asBoolean()) {
                // The cut falls inside a group of equal scores, where torch's unstable sort picks
                // arbitrarily: compare how many survive and their scores, not their ids.
                assertEquals(want.length, d.tokens().length, "kept count for " + c);
                double[] wantScores = Arrays.stream(want).mapToDouble(i -> logits[i]).sorted().toArray();
                double[] gotScores = Arrays.stream(d.tokens()).mapToDouble(i -> logits[i]).sorted().toArray();
                assertArrayEquals(wantScores, gotScores, "kept scores for " + c);
                checked++;
                continue;
            }
            // Compare as sorted id sets with probabilities aligned to them.
            Integer[] idx = new Integer[d.tokens().length];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            Arrays.sort(idx, (a, b) -> Integer.compare(d.tokens()[a], d.tokens()[b]));
            int[] got = Arrays.stream(idx).mapToInt(i -> d.tokens()[i]).toArray();
            assertArrayEquals(want, got, "kept tokens for " + c);
            for (int i = 0; i < want.length; i++) {
                assertEquals(c.get("probs").get(i).asDouble(), d.probs()[idx[i]], 1e-6, "probability of " + want[i] + " in " + c);
            }
            checked++;
        }
        assertEquals(60, checked);
    }

    @Test
    void drawsFollowTheDistribution() {
        float[] logits = {0f, (float) Math.log(3), -100f};
        Sampler sampler = new Sampler(SamplingParams.sample(1.0, 0, 1.0, 0.0));
        SplittableRandom random = new SplittableRandom(3);
        int[] counts = new int[3];
        int n = 40_000;
        for (int i = 0; i < n; i++) {
            counts[sampler.choose(logits, random).token()]++;
        }
        assertEquals(0.25, counts[0] / (double) n, 0.01);
        assertEquals(0.75, counts[1] / (double) n, 0.01);
        assertEquals(0, counts[2]);
    }

    @Test
    void greedyTakesTheFirstMaximumAndReportsItsLogProbability() {
        float[] logits = {1f, 3f, 3f, 2f};
        Sampler.Choice c = new Sampler(SamplingParams.GREEDY).choose(logits, new SplittableRandom(0));
        assertEquals(1, c.token());
        double z = Math.exp(1) + 2 * Math.exp(3) + Math.exp(2);
        assertEquals(3 - Math.log(z), c.logprob(), 1e-12);
    }

    @Test
    void logprobIsUnderTheUnmodifiedDistributionEvenWhenSampledWithTemperature() {
        float[] logits = {2f, 1f, 0f};
        Sampler.Choice c = new Sampler(SamplingParams.sample(0.1, 1, 1.0, 0.0)).choose(logits, new SplittableRandom(1));
        assertEquals(0, c.token());
        assertEquals(Sampler.logSoftmaxAt(logits, 0), c.logprob(), 1e-12);
        assertTrue(c.logprob() < -0.3);
    }

    @Test
    void rejectsImpossibleSettings() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(1, -1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(1, 0, 1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.sample(1, 0, 1, -0.1));
    }
}
