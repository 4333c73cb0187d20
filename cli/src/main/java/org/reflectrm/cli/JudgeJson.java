package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import org.reflectrm.api.Analysis;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.Mode;
import org.reflectrm.api.OrderJudgment;
import org.reflectrm.api.Reflection;

/**
 * A judgment as the JSON record {@code judge} prints and writes (the id aside): every rollout's
 * analysis, verdict and confidence, for reflect the second stage, and the call's wall time.
 */
final class JudgeJson {
    private JudgeJson() {
    }

    /** One order's fields at the top level, or with both orders the combined verdict and an {@code orders} list. */
    static ObjectNode record(ObjectMapper mapper, Judgment j) {
        ObjectNode record;
        if (j.orders().size() == 2) {
            record = mapper.createObjectNode();
            record.put("verdict", j.verdict());
            record.put("status", j.status());
            record.put("mode", mode(j.mode()));
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
        o.put("mode", mode(j.mode()));
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

    private static String mode(Mode m) {
        return m.name().toLowerCase(Locale.ROOT);
    }
}
