package org.reflectrm.reflect.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.reflectrm.api.Analysis;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.Mode;
import org.reflectrm.api.OrderJudgment;
import org.reflectrm.api.Pair;

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

    /**
     * The pair to judge for {@code c} shown in {@code order}: its responses in the shown order, so
     * the judgment's A and B are the shown slots. The id seeds it (both orders share it).
     */
    public static Pair pair(Comparison c, String order) {
        return order.equals("AB") ? new Pair(c.id(), c.conversation(), c.responseA(), c.responseB())
                : new Pair(c.id(), c.conversation(), c.responseB(), c.responseA());
    }

    /** The record of {@code c} judged in {@code order} (one order, judged as {@link #pair} shows it), which took {@code seconds}. */
    public static ObjectNode of(ObjectMapper mapper, Comparison c, String order, Judgment j, double seconds) {
        OrderJudgment r = j.orders().getFirst();
        ObjectNode o = mapper.createObjectNode();
        o.put("id", c.id());
        o.put("group", c.group());
        o.put("subset", c.subset());
        o.put("order", order);
        o.put("label", order.equals("AB") ? c.label() : other(c.label()));
        o.put("verdict", r.verdict());
        if (c.meta() != null) {
            c.meta().properties().forEach(e -> o.set(e.getKey(), e.getValue()));
        }
        o.put("mode", j.mode().label());
        o.put("template_version", j.templateVersion());
        ArrayNode verdicts = o.putArray("rollout_verdicts");
        ArrayNode confidences = o.putArray("confidences");
        for (Analysis a : r.rollouts()) {
            verdicts.add(a.verdict());
            if (Double.isFinite(a.confidence())) {
                confidences.add(a.confidence());
            } else {
                confidences.addNull();
            }
        }
        if (j.mode() == Mode.REFLECT) {
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
    static String decidedBy(OrderJudgment r) {
        if (r.anchor() == null) {
            return "none";
        }
        if (!r.anchorVoted()) {
            return "winners";
        }
        return r.winners().isEmpty() ? "fallback" : "anchor";
    }

    private static String other(String slot) {
        return slot.equals("A") ? "B" : "A";
    }
}
