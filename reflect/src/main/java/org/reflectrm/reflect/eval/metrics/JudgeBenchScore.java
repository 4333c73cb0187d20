package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * JudgeBench's official pair score ({@code ScalerLab/JudgeBench}, {@code utils/metrics.py},
 * {@code compute_final_metrics}). Per pair (the {@code group}), {@code counter} is the sum over
 * its judgments of +1 when the verdict names the better response, −1 when it names the other
 * one, and 0 when unparseable (JudgeBench's {@code None} and {@code A=B} both add 0); the pair is
 * correct iff {@code counter > 0}, so one correct order and one unparseable count as correct and
 * one correct and one wrong do not. The score is correct pairs over all pairs; JudgeBench prints
 * it ×100, here it is a fraction. With one order (JudgeBench's {@code --single_game}) the rule
 * reduces to "the verdict is correct", the official single-order branch.
 *
 * <p>Also JudgeBench's own bookkeeping over pairs judged in both orders, as it defines it
 * (not the paper's metrics): {@code all_correct}, {@code all_incorrect} (neither order correct,
 * unparseable included), {@code some_correct}, {@code inconsistent} (the two decisions, mapped to
 * the underlying responses, differ; two unparseable ones do not differ) and {@code with_null}.
 */
final class JudgeBenchScore {
    private JudgeBenchScore() {
    }

    static int counter(List<JudgedComparison> pair) {
        int counter = 0;
        for (JudgedComparison c : pair) {
            for (Judgment j : c.judgments()) {
                counter += j.correct() ? 1 : j.wrong() ? -1 : 0;
            }
        }
        return counter;
    }

    static double score(List<List<JudgedComparison>> pairs) {
        if (pairs.isEmpty()) {
            return Double.NaN;
        }
        int correct = 0;
        for (List<JudgedComparison> p : pairs) {
            correct += counter(p) > 0 ? 1 : 0;
        }
        return (double) correct / pairs.size();
    }

    /** Writes {@code judgebench_score}, {@code judgebench_score_ci95} and the {@code judgebench} block. */
    static void write(ObjectNode out, List<JudgedComparison> comparisons, long seed, int samples) {
        Map<String, List<JudgedComparison>> byGroup = new LinkedHashMap<>();
        for (JudgedComparison c : comparisons) {
            byGroup.computeIfAbsent(c.group(), g -> new ArrayList<>()).add(c);
        }
        List<List<JudgedComparison>> pairs = new ArrayList<>(byGroup.values());
        double score = score(pairs);
        Json.putRate(out, "judgebench_score", score);
        Json.putInterval(out, "judgebench_score_ci95",
                Bootstrap.interval(pairs, samples, Bootstrap.rng(seed, "judgebench"), JudgeBenchScore::score));

        ObjectNode jb = out.putObject("judgebench");
        jb.put("n_pairs", pairs.size());
        int correct = 0, incorrect = 0, tie = 0;
        int both = 0, allCorrect = 0, allIncorrect = 0, someCorrect = 0, inconsistent = 0, withNull = 0;
        for (List<JudgedComparison> p : pairs) {
            int counter = counter(p);
            if (counter > 0) {
                correct++;
            } else if (counter < 0) {
                incorrect++;
            } else {
                tie++;
            }
            if (p.size() == 1 && p.get(0).bothOrders()) {
                JudgedComparison c = p.get(0);
                both++;
                boolean c1 = c.ab().correct(), c2 = c.ba().correct();
                if (c1 && c2) {
                    allCorrect++;
                } else if (!c1 && !c2) {
                    allIncorrect++;
                } else {
                    someCorrect++;
                }
                if (!java.util.Objects.equals(c.ab().underlying(), c.ba().underlying())) {
                    inconsistent++;
                }
                if (!c.ab().parsed() || !c.ba().parsed()) {
                    withNull++;
                }
            }
        }
        jb.put("correct", correct);
        jb.put("incorrect", incorrect);
        jb.put("tie", tie);
        ObjectNode consistency = jb.putObject("both_orders");
        consistency.put("n_pairs", both);
        consistency.put("all_correct", allCorrect);
        consistency.put("all_incorrect", allIncorrect);
        consistency.put("some_correct", someCorrect);
        consistency.put("inconsistent", inconsistent);
        consistency.put("with_null", withNull);

        Map<String, List<List<JudgedComparison>>> byCategory = new TreeMap<>();
        for (List<JudgedComparison> p : pairs) {
            byCategory.computeIfAbsent(p.get(0).subset(), k -> new ArrayList<>()).add(p);
        }
        ObjectNode cats = jb.putObject("categories");
        for (Map.Entry<String, List<List<JudgedComparison>>> e : byCategory.entrySet()) {
            ObjectNode c = cats.putObject(e.getKey());
            c.put("n_pairs", e.getValue().size());
            Json.putRate(c, "score", score(e.getValue()));
            Json.putInterval(c, "score_ci95", Bootstrap.interval(e.getValue(), samples,
                    Bootstrap.rng(seed, "judgebench/" + e.getKey()), JudgeBenchScore::score));
        }
    }
}
