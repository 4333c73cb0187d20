package org.reflectrm.reflect.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.Mode;
import org.reflectrm.api.Pair;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.chat.ChatMessage;

class JudgmentRecordsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Pair PAIR = Pair.of("q", "first", "second");

    private static Judgment judged(Integer verdict, int anchor, List<Integer> winners, boolean anchorVoted) {
        return Judgment.of(PAIR, Mode.REFLECT, List.of(result(verdict, anchor, winners, anchorVoted)), 1.5);
    }

    private static Judge.Result result(Integer verdict, int anchor, List<Integer> winners, boolean anchorVoted) {
        Judge.Rollout a = new Judge.Rollout("x", new Verdict(Verdict.Status.OK, 2, "x"), -0.5, new int[3], new float[3]);
        Judge.Rollout b = new Judge.Rollout("y", new Verdict(Verdict.Status.UNPARSEABLE, null, "y"), Double.NEGATIVE_INFINITY, new int[4], new float[4]);
        return new Judge.Result(verdict, Judge.Mode.REFLECT, "v1", List.of(a, b), anchor, List.of(), winners, anchorVoted, 0, 0);
    }

    @Test
    void theSwappedOrderShowsTheLabelInTheOtherSlot() {
        ObjectNode meta = JSON.createObjectNode().put("i", 1).put("j", 2);
        Comparison c = new Comparison("p:1:2", "p", "chat", List.of(ChatMessage.user("q")), "first", "second", "A", meta);
        assertEquals("second", JudgmentRecords.pair(c, "BA").responseA());
        assertEquals("p:1:2", JudgmentRecords.pair(c, "BA").id());
        ObjectNode ab = JudgmentRecords.of(JSON, c, "AB", judged(2, 0, List.of(), true), 1.5);
        ObjectNode ba = JudgmentRecords.of(JSON, c, "BA", judged(2, 0, List.of(), true), 1.5);
        assertEquals("A", ab.get("label").asText());
        assertEquals("B", ba.get("label").asText());
        assertEquals("B", ab.get("verdict").asText(), "the slot chosen as shown");
        assertEquals(1, ab.get("i").asInt());
        assertEquals(2, ab.get("j").asInt());
        assertEquals("[\"B\",null]", ab.get("rollout_verdicts").toString());
        assertEquals("[-0.5,null]", ab.get("confidences").toString());
        assertTrue(ab.get("seconds").isNumber());
    }

    @Test
    void reflectRecordsSayWhatDecided() {
        assertEquals("winners", JudgmentRecords.decidedBy(judged(2, 0, List.of(1), false).orders().getFirst()));
        assertEquals("anchor", JudgmentRecords.decidedBy(judged(2, 0, List.of(1), true).orders().getFirst()));
        assertEquals("fallback", JudgmentRecords.decidedBy(judged(2, 0, List.of(), true).orders().getFirst()));
        assertEquals("none", JudgmentRecords.decidedBy(judged(null, -1, List.of(), false).orders().getFirst()));
    }
}
