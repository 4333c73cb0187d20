package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code summary.json} of an eval run: the paper's metrics overall and per subset, the
 * benchmark's official score, and the judge's details, each with seeded 95% bootstrap intervals.
 * The definitions are in the {@linkplain org.reflectrm.reflect.eval.metrics package documentation}.
 */
public final class Metrics {
    /** Bootstrap resamples when the caller has no reason to choose. */
    public static final int DEFAULT_BOOTSTRAP_SAMPLES = 1000;

    private Metrics() {
    }

    /**
     * Scores judgment records.
     *
     * @param benchmark        "judgebench", "rmbench" / "rm-bench", "rmb" add that benchmark's official score
     *                         (case and punctuation are ignored); any other name only the common metrics
     * @param judgments        the judgment records, one per comparison and order (see
     *                         {@link org.reflectrm.reflect.eval})
     * @param seed             the bootstrap's seed: the same seed and records give the same intervals
     * @param bootstrapSamples resamples per interval; 0 writes every interval as null
     * @throws IllegalArgumentException on records that break the contract (no id, an order other than AB/BA, a
     *                                  label other than A/B, a verdict other than A/B/null, two records of one
     *                                  comparison and order, AB and BA records with the same label; RM-Bench
     *                                  records without style indices 0..2)
     */
    public static ObjectNode summarize(String benchmark, List<JsonNode> judgments, long seed, int bootstrapSamples) {
        if (bootstrapSamples < 0) {
            throw new IllegalArgumentException("bootstrapSamples must be >= 0, got " + bootstrapSamples);
        }
        List<Judgment> js = new ArrayList<>(judgments.size());
        for (JsonNode n : judgments) {
            js.add(Judgment.of(n));
        }
        List<JudgedComparison> comparisons = JudgedComparison.group(js);

        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("benchmark", benchmark);
        out.put("seed", seed);
        out.put("bootstrap_samples", bootstrapSamples);
        out.put("interval", "95% percentile bootstrap (2.5th and 97.5th percentiles), seeded; the rates resample "
                + "comparisons, the official scores resample their groups");
        out.put("n_judgments", js.size());
        out.set("overall", rates(comparisons, seed, bootstrapSamples, "overall"));
        Map<String, List<JudgedComparison>> bySubset = new TreeMap<>();
        for (JudgedComparison c : comparisons) {
            bySubset.computeIfAbsent(c.subset(), s -> new ArrayList<>()).add(c);
        }
        ObjectNode subsets = out.putObject("subsets");
        bySubset.forEach((name, cs) -> subsets.set(name, rates(cs, seed, bootstrapSamples, "subset/" + name)));

        switch (official(benchmark)) {
            case "judgebench" -> JudgeBenchScore.write(out, comparisons, seed, bootstrapSamples);
            case "rmbench" -> RmBenchScore.write(out, comparisons, seed, bootstrapSamples);
            case "rmb" -> RmbScore.write(out, comparisons, seed, bootstrapSamples);
            default -> {
            }
        }
        JudgeDetails.writeModes(out, js);
        JudgeDetails.writeReflect(out, js);
        JudgeDetails.writeConfidence(out, js);
        return out;
    }

    /** summarize with {@link #DEFAULT_BOOTSTRAP_SAMPLES}. */
    public static ObjectNode summarize(String benchmark, List<JsonNode> judgments, long seed) {
        return summarize(benchmark, judgments, seed, DEFAULT_BOOTSTRAP_SAMPLES);
    }

    static String official(String benchmark) {
        return benchmark == null ? "" : benchmark.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    /** One {@code overall} or {@code subsets.<name>} object. */
    static ObjectNode rates(List<JudgedComparison> cs, long seed, int samples, String scope) {
        Rates r = Rates.of(cs);
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("n", r.n());
        o.put("n_judgments", r.judgments());
        o.put("n_both_orders", r.bothOrders());
        double[] v = r.values();
        for (int k = 0; k < v.length; k++) {
            Json.putRate(o, Rates.NAMES[k], v[k]);
        }
        double[][] ci = Bootstrap.intervals(List.of(cs), samples, Bootstrap.rng(seed, scope), v.length,
                s -> Rates.of(s.get(0)).values());
        ObjectNode cis = o.putObject("ci95");
        for (int k = 0; k < v.length; k++) {
            Json.putInterval(cis, Rates.NAMES[k], ci == null ? null : ci[k]);
        }
        return o;
    }
}
