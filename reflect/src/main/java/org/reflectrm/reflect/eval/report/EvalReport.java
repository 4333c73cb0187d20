package org.reflectrm.reflect.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code report.html}: one or more eval runs side by side, self-contained (inline CSS and SVG, no
 * script, no network), so it opens from disk anywhere. A table per run (overall and per subset,
 * with the official score) and plots: accuracy against positional consistency, the first-slot
 * rate, rollout confidence of correct and wrong verdicts, and for reflect mode what decided.
 */
public final class EvalReport {
    /** One run: a name (its folder), its settings ({@code run.json}) and its {@code summary.json}. */
    public record Run(String name, JsonNode settings, JsonNode summary) {
    }

    private EvalReport() {
    }

    public static String html(List<Run> runs) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>reflectrm-j eval report</title><style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}")
                .append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}")
                .append("td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:16px}")
                .append(".note{color:#555;font-size:90%}</style></head><body>");
        h.append("<h1>Eval report</h1><p class='note'>Accuracy is the mean over both presentation orders; positional ")
                .append("consistency counts a comparison only when it is judged correctly in both (unparseable is wrong). ")
                .append("Brackets are 95% bootstrap intervals.</p>");
        h.append("<div class='plots'>").append(plots(runs)).append("</div>");
        for (Run r : runs) {
            h.append("<h2>").append(Svg.esc(r.name())).append("</h2>").append(settings(r.settings())).append(table(r.summary()))
                    .append(official(r.summary()));
        }
        return h.append("</body></html>\n").toString();
    }

    private static String plots(List<Run> runs) {
        StringBuilder p = new StringBuilder();
        List<Svg.Point> points = new ArrayList<>();
        List<Svg.Bar> slots = new ArrayList<>();
        for (Run r : runs) {
            JsonNode o = r.summary().path("overall");
            points.add(new Svg.Point(label(r), num(o.path("positional_consistency")), num(o.path("accuracy"))));
            slots.add(bar(label(r), o, "first_slot_rate"));
        }
        if (runs.size() == 1) {
            // One run: its subsets are the points.
            r1Subsets(runs.getFirst(), points, slots);
        }
        p.append(Svg.scatter("Accuracy against positional consistency", "positional consistency", "accuracy", points));
        p.append(Svg.bars("First-slot rate (0.5 = no position bias)", "share of verdicts for slot A", slots, 0.5));
        for (Run r : runs) {
            JsonNode c = r.summary().path("confidence");
            if (c.isObject() && c.path("edges").isArray()) {
                double[] edges = new double[c.path("edges").size()];
                for (int k = 0; k < edges.length; k++) {
                    edges[k] = c.path("edges").get(k).asDouble();
                }
                p.append(Svg.histogram("Rollout confidence: " + label(r), "confidence (mean log-prob of the lowest tokens)",
                        edges, List.of(new Svg.Series("correct", "#2ca02c", counts(c.path("rollouts").path("correct"))),
                                new Svg.Series("wrong", "#d62728", counts(c.path("rollouts").path("wrong"))))));
            }
            JsonNode by = r.summary().path("reflect").path("decided_by");
            if (by.isObject() && !by.isEmpty()) {
                List<Svg.Bar> decided = new ArrayList<>();
                by.properties().forEach(e -> decided.add(new Svg.Bar(e.getKey(), num(e.getValue().path("rate")), Double.NaN, Double.NaN)));
                p.append(Svg.bars("Reflect: what decided, " + label(r), "share of judgments", decided, Double.NaN));
            }
        }
        return p.toString();
    }

    private static void r1Subsets(Run r, List<Svg.Point> points, List<Svg.Bar> slots) {
        r.summary().path("subsets").properties().forEach(e -> {
            points.add(new Svg.Point(e.getKey(), num(e.getValue().path("positional_consistency")), num(e.getValue().path("accuracy"))));
            slots.add(bar(e.getKey(), e.getValue(), "first_slot_rate"));
        });
    }

    private static Svg.Bar bar(String label, JsonNode rates, String field) {
        JsonNode ci = rates.path("ci95").path(field);
        return new Svg.Bar(label, num(rates.path(field)), ci.isArray() ? ci.get(0).asDouble() : Double.NaN,
                ci.isArray() ? ci.get(1).asDouble() : Double.NaN);
    }

    private static String label(Run r) {
        String mode = r.settings() == null ? "" : r.settings().path("mode").asText("");
        return mode.isEmpty() ? r.name() : r.name() + " (" + mode + ")";
    }

    private static String settings(JsonNode s) {
        if (s == null || !s.isObject()) {
            return "";
        }
        StringBuilder b = new StringBuilder("<p class='note'>");
        s.properties().forEach(e -> b.append(Svg.esc(e.getKey())).append(": ").append(Svg.esc(e.getValue().asText())).append("; "));
        return b.append("</p>").toString();
    }

    private static String table(JsonNode summary) {
        StringBuilder t = new StringBuilder("<table><tr><th>subset</th><th>n</th><th>accuracy</th><th>accuracy AB</th>"
                + "<th>accuracy BA</th><th>positional consistency</th><th>order agreement</th><th>first slot</th>"
                + "<th>unparseable</th></tr>");
        row(t, "overall", summary.path("overall"));
        summary.path("subsets").properties().forEach(e -> row(t, e.getKey(), e.getValue()));
        return t.append("</table>").toString();
    }

    private static void row(StringBuilder t, String name, JsonNode r) {
        JsonNode ci = r.path("ci95");
        t.append("<tr><td>").append(Svg.esc(name)).append("</td><td>").append(r.path("n").asInt()).append("</td>");
        for (String f : List.of("accuracy", "accuracy_ab", "accuracy_ba", "positional_consistency", "order_agreement",
                "first_slot_rate", "unparseable_rate")) {
            t.append("<td>").append(SummaryTable.withInterval(r.path(f), ci.path(f))).append("</td>");
        }
        t.append("</tr>");
    }

    private static String official(JsonNode summary) {
        StringBuilder o = new StringBuilder();
        SummaryTable.officialScores(summary).forEach(line -> o.append("<p><b>").append(Svg.esc(line)).append("</b></p>"));
        return o.toString();
    }

    private static int[] counts(JsonNode a) {
        int[] out = new int[a.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = a.get(k).asInt();
        }
        return out;
    }

    private static double num(JsonNode v) {
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }
}
