package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One judgment record (one comparison in one presentation order), read from its JSON.
 *
 * @param order   "AB" (as placed) or "BA" (swapped)
 * @param label   the better slot as shown, "A" or "B"
 * @param verdict the slot the judge chose as shown, "A" or "B"; null when unparseable
 * @param raw     the record itself, for the benchmark-specific keys
 */
record Judgment(String id, String group, String subset, String order, String label, String verdict, JsonNode raw) {

    static Judgment of(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("a judgment record must be a JSON object, got " + n);
        }
        String id = text(n, "id");
        if (id == null) {
            throw new IllegalArgumentException("judgment record without an id: " + n);
        }
        String group = text(n, "group");
        String subset = text(n, "subset");
        String order = text(n, "order");
        if (!"AB".equals(order) && !"BA".equals(order)) {
            throw new IllegalArgumentException("judgment " + id + ": order must be AB or BA, got " + order);
        }
        String label = text(n, "label");
        if (!"A".equals(label) && !"B".equals(label)) {
            throw new IllegalArgumentException("judgment " + id + " " + order + ": label must be A or B, got " + label);
        }
        String verdict = text(n, "verdict");
        if (verdict != null && !verdict.equals("A") && !verdict.equals("B")) {
            throw new IllegalArgumentException("judgment " + id + " " + order + ": verdict must be A, B or null, got "
                    + verdict);
        }
        return new Judgment(id, group == null ? id : group, subset == null ? "unspecified" : subset, order, label,
                verdict, n);
    }

    boolean parsed() {
        return verdict != null;
    }

    /** The verdict names the better response; an unparseable verdict is wrong. */
    boolean correct() {
        return verdict != null && verdict.equals(label);
    }

    /** The verdict names the other response (parsed and not correct). */
    boolean wrong() {
        return verdict != null && !verdict.equals(label);
    }

    /** The response the verdict names, as placed in the comparison ("A" = its responseA); null when unparseable. */
    String underlying() {
        if (verdict == null) {
            return null;
        }
        return order.equals("AB") ? verdict : flip(verdict);
    }

    static String flip(String slot) {
        return slot.equals("A") ? "B" : "A";
    }

    /** A benchmark key: at the top level of the record (where eval copies the meta keys) or under "meta". */
    JsonNode meta(String key) {
        JsonNode v = raw.get(key);
        if ((v == null || v.isNull()) && raw.get("meta") != null && raw.get("meta").isObject()) {
            v = raw.get("meta").get(key);
        }
        return v == null || v.isNull() ? null : v;
    }

    String metaText(String key) {
        JsonNode v = meta(key);
        return v == null ? null : v.asText();
    }

    /** The judge's mode ("single", "vote", "reflect", ...), null when absent. */
    String mode() {
        return text(raw, "mode");
    }

    /** The rollouts' confidences that are finite numbers (absent, null and non-numeric entries are left out). */
    List<Double> confidences() {
        JsonNode c = raw.get("confidences");
        List<Double> out = new ArrayList<>();
        if (c != null && c.isArray()) {
            for (JsonNode x : c) {
                if (x != null && x.isNumber() && Double.isFinite(x.asDouble())) {
                    out.add(x.asDouble());
                }
            }
        }
        return out;
    }

    /** This judgment's outcome: 0 correct, 1 wrong, 2 unparseable. */
    int outcome() {
        return correct() ? 0 : wrong() ? 1 : 2;
    }

    /**
     * Each rollout's finite confidence with its own outcome (0 correct, 1 wrong, 2 unparseable),
     * from {@code rollout_verdicts} when the record has them (slots as shown); otherwise every
     * rollout takes the judgment's outcome.
     */
    List<double[]> rollouts() {
        JsonNode c = raw.get("confidences");
        JsonNode v = raw.get("rollout_verdicts");
        boolean own = v != null && v.isArray() && c != null && v.size() == c.size();
        List<double[]> out = new ArrayList<>();
        if (c != null && c.isArray()) {
            for (int k = 0; k < c.size(); k++) {
                JsonNode x = c.get(k);
                if (x == null || !x.isNumber() || !Double.isFinite(x.asDouble())) {
                    continue;
                }
                int outcome = outcome();
                if (own) {
                    JsonNode rv = v.get(k);
                    outcome = rv == null || rv.isNull() ? 2 : rv.asText().equals(label) ? 0 : 1;
                }
                out.add(new double[] {x.asDouble(), outcome});
            }
        }
        return out;
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }
}
