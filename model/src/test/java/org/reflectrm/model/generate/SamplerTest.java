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

    /** A vocabulary-sized row: a few strong tokens spread over several of VocabMath's chunks. */
    private static float[] vocabRow(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[151_936];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 2.0);
        }
        for (int k = 0; k < 6; k++) {
            x[r.nextInt(x.length)] = 14f + k * 0.5f;
        }
        return x;
    }

    private static double logSumExpInDouble(float[] x) {
        double m = Double.NEGATIVE_INFINITY;
        for (float v : x) {
            m = Math.max(m, v);
        }
        double s = 0;
        for (float v : x) {
            s += Math.exp(v - m);
        }
        return m + Math.log(s);
    }

    @Test
    void vectorisedGreedyMatchesAScalarDoubleReferenceOnAVocabularyRow() {
        for (long seed = 0; seed < 5; seed++) {
            float[] x = vocabRow(seed);
            int want = 0;
            for (int i = 1; i < x.length; i++) {
                if (x[i] > x[want]) {
                    want = i;
                }
            }
            Sampler.Choice c = new Sampler(SamplingParams.GREEDY).choose(x, new SplittableRandom(0));
            assertEquals(want, c.token());
            assertEquals(x[want] - logSumExpInDouble(x), c.logprob(), 1e-6);
        }
    }

    @Test
    void argmaxIgnoresNaNAndGivesZeroForARowOfOnlyNaN() {
        float[] x = new float[100];
        Arrays.fill(x, -1f);
        x[0] = Float.NaN;
        x[70] = 2f;
        x[90] = Float.NaN;
        assertEquals(70, Sampler.argmax(x));
        Arrays.fill(x, Float.NaN);
        assertEquals(0, Sampler.argmax(x));
    }

    @Test
    void temperatureDrawsOnAVocabularyRowMatchTheDistributionsCumulativeDraw() {
        float[] x = vocabRow(11);
        double temperature = 1.7;  // flat enough that many chunks carry mass
        Sampler fast = new Sampler(SamplingParams.sample(temperature, 0, 1.0, 0.0));
        Sampler.Distribution d = fast.distribution(x);
        double lse = logSumExpInDouble(x);
        for (long seed = 0; seed < 300; seed++) {
            // The reference: the first token whose cumulative probability exceeds u, in id order.
            double u = new SplittableRandom(seed).nextDouble();
            double cumulative = 0;
            int want = d.tokens()[d.tokens().length - 1];
            for (int i = 0; i < d.tokens().length; i++) {
                cumulative += d.probs()[i];
                if (u < cumulative) {
                    want = d.tokens()[i];
                    break;
                }
            }
            Sampler.Choice c = fast.choose(x, new SplittableRandom(seed));
            assertEquals(want, c.token(), "seed " + seed);
            assertEquals(x[want] - lse, c.logprob(), 1e-6, "seed " + seed);
        }
    }

    @Test
    void aRowInsideABatchIsChosenAsTheSameRowAlone() {
        float[] a = vocabRow(1), b = vocabRow(2);
        float[] both = new float[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        for (SamplingParams p : new SamplingParams[] {SamplingParams.GREEDY, SamplingParams.sample(0.8, 0, 1.0, 0.0),
                SamplingParams.sample(0.8, 20, 0.9, 0.0)}) {
            Sampler s = new Sampler(p);
            assertEquals(s.choose(b, new SplittableRandom(5)), s.choose(both, a.length, b.length, new SplittableRandom(5)),
                    p.toString());
        }
    }

    @Test
    void samplingNaNLogitsFailsClearly() {
        float[] x = {1f, Float.NaN, 0f};
        Sampler s = new Sampler(SamplingParams.sample(1.0, 0, 1.0, 0.0));
        assertThrows(IllegalStateException.class, () -> s.choose(x, new SplittableRandom(0)));
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
