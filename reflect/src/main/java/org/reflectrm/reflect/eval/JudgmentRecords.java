package org.reflectrm.reflect.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.reflectrm.model.judge.Judge;

/** The judgment record of one comparison in one order (the fields are listed in the package comment). */
public final class JudgmentRecords {
    /** The two presentation orders: as placed, and swapped. */
    public static final List<String> ORDERS = List.of("AB", "BA");

    private JudgmentRecords() {
    }

    /** The key that identifies a judgment in {@code judgments.jsonl}: comparison id and order. */
    public static String key(String id, String order) {
        return id + "\u0000" + order;
    }

    /** The judge item of {@code c} shown in {@code order}. */
    public static Judge.Item item(Comparison c, String order) {
        return order.equals("AB") ? new Judge.Item(c.conversation(), c.responseA(), c.responseB())
                : new Judge.Item(c.conversation(), c.responseB(), c.responseA());
    }

    /** The record of {@code c} judged in {@code order} with result {@code r}, which took {@code seconds}. */
    public static ObjectNode of(ObjectMapper mapper, Comparison c, String order, Judge.Result r, double seconds) {
        ObjectNode o = mapper.createObjectNode();
        o.put("id", c.id());
        o.put("group", c.group());
        o.put("subset", c.subset());
        o.put("order", order);
        o.put("label", order.equals("AB") ? c.label() : other(c.label()));
        o.put("verdict", slot(r.verdict()));
        if (c.meta() != null) {
            c.meta().properties().forEach(e -> o.set(e.getKey(), e.getValue()));
        }
        o.put("mode", r.mode().name().toLowerCase(java.util.Locale.ROOT));
        o.put("template_version", r.templateVersion());
        ArrayNode verdicts = o.putArray("rollout_verdicts");
        ArrayNode confidences = o.putArray("confidences");
        for (Judge.Rollout ro : r.rollouts()) {
            verdicts.add(slot(ro.verdict().choice()));
            if (Double.isFinite(ro.confidence())) {
                confidences.add(ro.confidence());
            } else {
                confidences.addNull();
            }
        }
        if (r.mode() == Judge.Mode.REFLECT) {
            o.put("decided_by", decidedBy(r));
        }
        o.put("seconds", seconds);
        return o;
    }

    /**
     * What settled a reflect-mode verdict: "winners" (the majority of the rollouts that beat the
     * anchor), "anchor" (the anchor's own vote broke the winners' tie), "fallback" (no rollout
     * beat the anchor, so its verdict stands) or "none" (no rollout parsed).
     */
    static String decidedBy(Judge.Result r) {
        if (r.anchor() < 0) {
            return "none";
        }
        if (!r.anchorVoted()) {
            return "winners";
        }
        return r.winners().isEmpty() ? "fallback" : "anchor";
    }

    private static String slot(Integer choice) {
        return choice == null ? null : choice == 1 ? "A" : "B";
    }

    private static String other(String slot) {
        return slot.equals("A") ? "B" : "A";
    }
}
