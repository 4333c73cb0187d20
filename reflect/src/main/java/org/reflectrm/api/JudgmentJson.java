package org.reflectrm.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.reflectrm.model.judge.PairRecord;

/**
 * A judgment as the JSON record {@code judge} prints and writes: every rollout's analysis,
 * verdict and confidence, for reflect the second stage, and the call's wall time. The one
 * writer of these records, shared by the command line and the Spark job so the two cannot drift.
 */
public final class JudgmentJson {
    private JudgmentJson() {
    }

    /**
     * The record {@code judge --input} writes for one pair of its input: {@code id}, the
     * judgment's fields (see {@link #record(ObjectMapper, Judgment)}), then {@code subset} and
     * {@code placement} when the pair has them and, for a labelled pair, {@code label} and
     * {@code correct}.
     */
    public static ObjectNode record(ObjectMapper mapper, PairRecord pair, Judgment j) {
        ObjectNode record = mapper.createObjectNode();
        record.put("id", pair.id());
        record.setAll(record(mapper, j));
        if (pair.subset() != null) {
            record.put("subset", pair.subset());
        }
        if (pair.placement() != null) {
            record.put("placement", pair.placement());
        }
        if (pair.label() != null) {
            // The verdict as written above (the combined one with both orders).
            JsonNode verdict = record.get("verdict");
            record.put("label", pair.label());
            record.put("correct", !verdict.isNull() && verdict.asText().equals(pair.label()));
        }
        return record;
    }

    /**
     * The judgment's fields without an id: one order's at the top level, or with both orders the
     * combined verdict and an {@code orders} list; then {@code timings}.
     */
    public static ObjectNode record(ObjectMapper mapper, Judgment j) {
        ObjectNode record;
        if (j.orders().size() == 2) {
            record = mapper.createObjectNode();
            record.put("verdict", j.verdict());
            record.put("status", j.status());
            record.put("mode", j.mode().label());
            record.put("template_version", j.templateVersion());
            ArrayNode orders = record.putArray("orders");
            j.orders().forEach(o -> orders.add(order(mapper, j, o)));
        } else {
            record = order(mapper, j, j.orders().getFirst());
        }
        record.putObject("timings").put("seconds", j.seconds());
        return record;
    }

    private static ObjectNode order(ObjectMapper mapper, Judgment j, OrderJudgment r) {
        ObjectNode o = mapper.createObjectNode();
        o.put("order", r.order());
        o.put("verdict", r.verdict());
        o.put("status", r.status());
        o.put("mode", j.mode().label());
        o.put("template_version", j.templateVersion());
        ArrayNode rollouts = o.putArray("rollouts");
        for (Analysis a : r.rollouts()) {
            ObjectNode x = rollouts.addObject();
            x.put("analysis", a.text());
            x.put("verdict", a.verdict());
            x.put("status", a.parsed() ? "ok" : "unparseable");
            x.put("confidence", Double.isFinite(a.confidence()) ? a.confidence() : null);
        }
        ObjectNode stages = o.putObject("stage_seconds");
        stages.put("rollouts", r.rolloutSeconds());
        if (j.mode() == Mode.REFLECT) {
            stages.put("reflections", r.reflectionSeconds());
            if (r.anchor() != null) {
                o.put("anchor", r.anchor());
            } else {
                o.putNull("anchor");
            }
            ArrayNode refl = o.putArray("reflections");
            for (Reflection f : r.reflections()) {
                ObjectNode x = refl.addObject();
                x.put("rollout", f.rollout());
                x.put("rollout_shown_first", f.rolloutShownFirst());
                x.put("analysis", f.text());
                x.put("status", f.parsed() ? "ok" : "unparseable");
                x.put("rollout_won", f.rolloutWon());
            }
            ArrayNode winners = o.putArray("winners");
            r.winners().forEach(winners::add);
            o.put("anchor_voted", r.anchorVoted());
        }
        return o;
    }
}
