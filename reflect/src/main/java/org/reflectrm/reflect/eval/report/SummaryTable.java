package org.reflectrm.reflect.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/** summary.json as a text table: the paper's two numbers with their intervals, per subset and overall, and the official score. */
public final class SummaryTable {
    private SummaryTable() {
    }

    public static String of(JsonNode summary) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%-28s %6s  %-21s %-21s %7s %7s %7s%n", "subset", "n", "accuracy",
                "consistency", "agree", "slot A", "unparsed"));
        row(s, "overall", summary.path("overall"));
        summary.path("subsets").properties().forEach(e -> row(s, e.getKey(), e.getValue()));
        officialScores(summary).forEach(line -> s.append(line).append('\n'));
        return s.toString();
    }

    private static void row(StringBuilder s, String name, JsonNode r) {
        JsonNode ci = r.path("ci95");
        s.append(String.format(Locale.ROOT, "%-28s %6d  %-21s %-21s %7s %7s %7s%n", name.length() > 28 ? name.substring(0, 27) + "…" : name,
                r.path("n").asInt(), withInterval(r.path("accuracy"), ci.path("accuracy")),
                withInterval(r.path("positional_consistency"), ci.path("positional_consistency")),
                pct(r.path("order_agreement")), pct(r.path("first_slot_rate")), pct(r.path("unparseable_rate"))));
    }

    /** The benchmark's official score, a line each (none for benchmarks without one). */
    public static java.util.List<String> officialScores(JsonNode summary) {
        java.util.List<String> out = new java.util.ArrayList<>();
        if (summary.has("judgebench_score")) {
            out.add("JudgeBench score (counter > 0 over pairs): "
                    + withInterval(summary.get("judgebench_score"), summary.path("judgebench_score_ci95")));
        }
        JsonNode rb = summary.path("rmbench");
        if (rb.isObject()) {
            out.add(String.format(Locale.ROOT, "RM-Bench: average %s  hard %s  normal %s  easy %s%s",
                    withInterval(rb.path("average"), rb.path("ci95").path("average")), pct(rb.path("hard")),
                    pct(rb.path("normal")), pct(rb.path("easy")), rb.path("complete").asBoolean(true) ? "" : "  (not every domain judged)"));
        }
        if (summary.has("rmb_bon_accuracy")) {
            out.add("RMB BoN accuracy (the best beats every loser): "
                    + withInterval(summary.get("rmb_bon_accuracy"), summary.path("rmb_bon_accuracy_ci95")));
        }
        return out;
    }

    /** A rate as a percentage with one decimal, or "-" when it is not a number. */
    public static String pct(JsonNode v) {
        return v == null || !v.isNumber() ? "-" : String.format(Locale.ROOT, "%.1f", 100 * v.asDouble());
    }

    /** {@link #pct} followed by its 95% interval in brackets, when there is one. */
    public static String withInterval(JsonNode v, JsonNode ci) {
        if (v == null || !v.isNumber()) {
            return "-";
        }
        if (ci == null || !ci.isArray() || ci.size() != 2) {
            return pct(v);
        }
        return String.format(Locale.ROOT, "%.1f [%.1f, %.1f]", 100 * v.asDouble(), 100 * ci.get(0).asDouble(),
                100 * ci.get(1).asDouble());
    }
}
