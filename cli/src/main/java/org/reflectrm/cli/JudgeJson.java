package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.reflectrm.model.judge.Judge;

/** A judgment as JSON: every rollout's analysis, verdict and confidence, and for reflect the second stage. */
final class JudgeJson {
    private JudgeJson() {
    }

    static ObjectNode result(ObjectMapper mapper, Judge.Result r, String order, String verdictLetter) {
        boolean swapped = order.equals("BA");
        ObjectNode o = mapper.createObjectNode();
        o.put("order", order);
        o.put("verdict", verdictLetter);
        o.put("status", r.status());
        o.put("mode", r.mode().name().toLowerCase(java.util.Locale.ROOT));
        o.put("template_version", r.templateVersion());
        ArrayNode rollouts = o.putArray("rollouts");
        for (Judge.Rollout ro : r.rollouts()) {
            ObjectNode x = rollouts.addObject();
            x.put("analysis", ro.verdict().analysis());
            x.put("verdict", JudgeCommand.letter(ro.verdict().choice(), swapped));
            x.put("status", ro.verdict().parsed() ? "ok" : "unparseable");
            x.put("confidence", Double.isFinite(ro.confidence()) ? ro.confidence() : null);
        }
        ObjectNode stages = o.putObject("stage_seconds");
        stages.put("rollouts", r.rolloutNanos() / 1e9);
        if (r.mode() == Judge.Mode.REFLECT) {
            stages.put("reflections", r.reflectionNanos() / 1e9);
            if (r.anchor() >= 0) {
                o.put("anchor", r.anchor());
            } else {
                o.putNull("anchor");
            }
            ArrayNode refl = o.putArray("reflections");
            for (Judge.Reflection f : r.reflections()) {
                ObjectNode x = refl.addObject();
                x.put("rollout", f.rollout());
                x.put("rollout_shown_first", f.rolloutFirst());
                x.put("analysis", f.verdict().analysis());
                x.put("status", f.verdict().parsed() ? "ok" : "unparseable");
                x.put("rollout_won", f.rolloutWon());
            }
            ArrayNode winners = o.putArray("winners");
            r.winners().forEach(winners::add);
            o.put("anchor_voted", r.anchorVoted());
        }
        return o;
    }
}
