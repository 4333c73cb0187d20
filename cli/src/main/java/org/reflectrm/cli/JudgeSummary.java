package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The few lines {@code judge} prints for one pair when {@code --json} is not given: the verdict,
 * how the mode reached it, and the analysis it rests on. The whole record is {@code --json}'s.
 */
final class JudgeSummary {
    private JudgeSummary() {
    }

    static List<String> lines(JsonNode record) {
        List<String> out = new ArrayList<>();
        out.add("verdict: " + verdict(record));
        if (record.path("orders").isArray()) {
            for (JsonNode order : record.get("orders")) {
                out.add("order " + order.path("order").asText() + ": " + verdict(order));
                out.addAll(indent(one(order)));
            }
        } else {
            out.addAll(one(record));
        }
        out.add("(--json prints the whole record; --html FILE writes a page with every step)");
        return out;
    }

    private static String verdict(JsonNode r) {
        return r.path("verdict").isNull() || r.path("verdict").isMissingNode()
                ? "none (" + r.path("status").asText() + ")"
                : "Response " + r.get("verdict").asText() + " is better";
    }

    /** How one order's verdict was reached, and the analysis it rests on. */
    private static List<String> one(JsonNode r) {
        List<String> out = new ArrayList<>();
        JsonNode rollouts = r.path("rollouts");
        String mode = r.path("mode").asText();
        if (!rollouts.isArray() || rollouts.isEmpty()) {
            return out;
        }
        if (mode.equals("greedy")) {
            out.add("analysis: " + rollouts.get(0).path("analysis").asText());
            return out;
        }
        int a = 0, b = 0;
        for (JsonNode x : rollouts) {
            a += x.path("verdict").asText().equals("A") ? 1 : 0;
            b += x.path("verdict").asText().equals("B") ? 1 : 0;
        }
        String counts = String.format(Locale.ROOT, "%d rollouts: %d for A, %d for B, %d without a verdict",
                rollouts.size(), a, b, rollouts.size() - a - b);
        if (mode.equals("reflect") && r.has("anchor")) {
            int anchor = r.get("anchor").asInt();
            int won = 0;
            for (JsonNode x : r.path("reflections")) {
                won += x.path("rollout_won").asBoolean() ? 1 : 0;
            }
            out.add(counts + String.format(Locale.ROOT, "; anchor: rollout %d of %d (the most confident); %d of %d "
                    + "reflections preferred the other rollout's analysis to the anchor's", anchor + 1, rollouts.size(), won, r.path("reflections").size()));
            out.add("anchor's analysis: " + rollouts.get(anchor).path("analysis").asText());
        } else {
            out.add(counts);
            for (JsonNode x : rollouts) {
                if (x.path("verdict").asText().equals(r.path("verdict").asText())) {
                    out.add("an analysis for the verdict: " + x.path("analysis").asText());
                    break;
                }
            }
        }
        return out;
    }

    private static List<String> indent(List<String> lines) {
        return lines.stream().map(l -> "  " + l).toList();
    }
}
