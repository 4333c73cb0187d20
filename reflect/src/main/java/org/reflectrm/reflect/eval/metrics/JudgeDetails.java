package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The judge's own details: modes, the reflect mode's {@code decided_by}, and confidence histograms. */
final class JudgeDetails {
    /** Histogram bins. */
    static final int BINS = 20;
    static final List<String> DECIDED_BY = List.of("anchor", "winners", "fallback");
    private static final String[] OUTCOMES = {"correct", "wrong", "unparseable"};

    private JudgeDetails() {
    }

    /** Judgments per {@code mode} ("none" when absent). */
    static void writeModes(ObjectNode out, List<Judgment> judgments) {
        Map<String, Integer> modes = new TreeMap<>();
        for (Judgment j : judgments) {
            modes.merge(j.mode() == null ? "none" : j.mode(), 1, Integer::sum);
        }
        ObjectNode m = out.putObject("modes");
        modes.forEach(m::put);
    }

    /**
     * The {@code reflect} block, when any judgment is in reflect mode: over the reflect-mode
     * judgments, for each {@code decided_by} value ("anchor", "winners", "fallback", and any other
     * value met, "missing" when absent) its count, its rate (count / reflect-mode judgments) and the
     * accuracy of the judgments it decided.
     */
    static void writeReflect(ObjectNode out, List<Judgment> judgments) {
        List<Judgment> reflect = new ArrayList<>();
        for (Judgment j : judgments) {
            if ("reflect".equals(j.mode())) {
                reflect.add(j);
            }
        }
        if (reflect.isEmpty()) {
            return;
        }
        Map<String, int[]> counts = new TreeMap<>();
        for (String d : DECIDED_BY) {
            counts.put(d, new int[2]);
        }
        for (Judgment j : reflect) {
            String d = j.raw().hasNonNull("decided_by") ? j.raw().get("decided_by").asText() : "missing";
            int[] c = counts.computeIfAbsent(d, k -> new int[2]);
            c[0]++;
            c[1] += j.correct() ? 1 : 0;
        }
        ObjectNode r = out.putObject("reflect");
        r.put("n_judgments", reflect.size());
        ObjectNode by = r.putObject("decided_by");
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            ObjectNode o = by.putObject(e.getKey());
            o.put("count", e.getValue()[0]);
            Json.putRate(o, "rate", Rates.ratio(e.getValue()[0], reflect.size()));
            Json.putRate(o, "accuracy", Rates.ratio(e.getValue()[1], e.getValue()[0]));
        }
    }

    /**
     * The {@code confidence} block, when any judgment has rollout confidences: {@value #BINS}
     * equal-width bins from the lowest to the highest confidence seen (the last bin closed), with
     * counts split by outcome (correct, wrong, unparseable): {@code rollouts} bins every rollout's
     * confidence by the rollout's own verdict (the judgment's, for records without
     * {@code rollout_verdicts}), {@code judgment_max} each judgment's highest rollout confidence by
     * the judgment's verdict. Also the mean rollout confidence per rollout outcome.
     */
    static void writeConfidence(ObjectNode out, List<Judgment> judgments) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        int withConf = 0;
        for (Judgment j : judgments) {
            List<Double> cs = j.confidences();
            if (!cs.isEmpty()) {
                withConf++;
            }
            for (double c : cs) {
                lo = Math.min(lo, c);
                hi = Math.max(hi, c);
            }
        }
        if (withConf == 0) {
            return;
        }
        long[][] rollouts = new long[3][BINS];
        long[][] maxes = new long[3][BINS];
        double[] sum = new double[3];
        long[] n = new long[3];
        for (Judgment j : judgments) {
            List<double[]> rs = j.rollouts();
            if (rs.isEmpty()) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (double[] r : rs) {
                int k = (int) r[1];
                rollouts[k][bin(r[0], lo, hi)]++;
                sum[k] += r[0];
                n[k]++;
                max = Math.max(max, r[0]);
            }
            maxes[j.outcome()][bin(max, lo, hi)]++;
        }
        ObjectNode o = out.putObject("confidence");
        o.put("n_judgments", withConf);
        o.put("bins", BINS);
        o.put("min", lo);
        o.put("max", hi);
        ArrayNode edges = o.putArray("edges");
        for (int b = 0; b <= BINS; b++) {
            edges.add(b == BINS ? hi : lo + (hi - lo) * b / BINS);
        }
        writeCounts(o.putObject("rollouts"), rollouts);
        writeCounts(o.putObject("judgment_max"), maxes);
        ObjectNode mean = o.putObject("mean");
        for (int k = 0; k < 3; k++) {
            Json.putRate(mean, OUTCOMES[k], n[k] == 0 ? Double.NaN : sum[k] / n[k]);
        }
    }

    static int bin(double c, double lo, double hi) {
        if (!(hi > lo)) {
            return 0;
        }
        int b = (int) Math.floor((c - lo) / (hi - lo) * BINS);
        return Math.max(0, Math.min(BINS - 1, b));
    }

    private static void writeCounts(ObjectNode o, long[][] counts) {
        for (int k = 0; k < 3; k++) {
            ArrayNode a = o.putArray(OUTCOMES[k]);
            for (long c : counts[k]) {
                a.add(c);
            }
        }
    }
}
