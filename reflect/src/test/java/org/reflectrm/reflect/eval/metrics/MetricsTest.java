package org.reflectrm.reflect.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hand-computed cases of {@link Metrics#summarize}, the bootstrap's seeding, and the input checks. */
class MetricsTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** One record. verdict null = unparseable. */
    private static ObjectNode rec(String id, String subset, String order, String label, String verdict) {
        ObjectNode o = F.objectNode();
        o.put("id", id);
        o.put("group", id);
        o.put("subset", subset);
        o.put("order", order);
        o.put("label", label);
        if (verdict == null) {
            o.putNull("verdict");
        } else {
            o.put("verdict", verdict);
        }
        return o;
    }

    /**
     * Both records of a comparison whose better response is placed in slot {@code placed}; the judge names
     * {@code ab} / {@code ba}: 'c' the better response, 'r' the other, 'n' unparseable.
     */
    private static List<ObjectNode> pair(String id, String subset, String placed, char ab, char ba) {
        String other = placed.equals("A") ? "B" : "A";
        return List.of(rec(id, subset, "AB", placed, slot(ab, placed)), rec(id, subset, "BA", other, slot(ba, other)));
    }

    private static String slot(char v, String label) {
        return v == 'c' ? label : v == 'r' ? (label.equals("A") ? "B" : "A") : null;
    }

    /** A stand-in judge that always answers slot A, on comparisons with the better response in A or B. */
    private static List<JsonNode> slotAJudge(int n) {
        List<JsonNode> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            String placed = k % 3 == 0 ? "A" : "B";
            String other = placed.equals("A") ? "B" : "A";
            out.add(rec("c" + k, k % 2 == 0 ? "even" : "odd", "AB", placed, "A"));
            out.add(rec("c" + k, k % 2 == 0 ? "even" : "odd", "BA", other, "A"));
        }
        return out;
    }

    @Test
    void aJudgeThatAlwaysAnswersSlotA() {
        JsonNode s = Metrics.summarize("judgebench", slotAJudge(30), 1, 200);
        JsonNode o = s.get("overall");
        assertEquals(30, o.get("n").asInt(), "n counts comparisons");
        assertEquals(60, o.get("n_judgments").asInt());
        assertEquals(0.0, o.get("positional_consistency").asDouble(), "never right in both orders");
        assertEquals(0.0, o.get("order_agreement").asDouble(), "names a different response in each order");
        assertEquals(1.0, o.get("first_slot_rate").asDouble());
        assertEquals(0.0, o.get("unparseable_rate").asDouble());
        assertEquals(0.5, o.get("accuracy").asDouble(), "exactly one order right on every comparison");
        assertEquals(10 / 30.0, o.get("accuracy_ab").asDouble(), 1e-15, "right in AB when the better one is in A");
        assertEquals(20 / 30.0, o.get("accuracy_ba").asDouble(), 1e-15);
        assertEquals(0.0, s.get("judgebench_score").asDouble(), "counter 0 on every pair");
        assertEquals(List.of(0.0, 0.0), List.of(o.get("ci95").get("positional_consistency").get(0).asDouble(),
                o.get("ci95").get("positional_consistency").get(1).asDouble()));
        assertEquals(15, s.get("subsets").get("even").get("n").asInt());
    }

    @Test
    void perfectJudgeAndUnparseableCountsAsWrong() {
        List<JsonNode> js = new ArrayList<>();
        js.addAll(pair("p1", "s", "A", 'c', 'c'));
        js.addAll(pair("p2", "s", "B", 'c', 'c'));
        js.addAll(pair("p3", "s", "A", 'c', 'n'));
        js.addAll(pair("p4", "s", "B", 'n', 'n'));
        JsonNode o = Metrics.summarize("other", js, 1, 0).get("overall");
        assertEquals(5 / 8.0, o.get("accuracy").asDouble(), "p1 2, p2 2, p3 1, p4 0 (unparseable is wrong)");
        assertEquals(2 / 4.0, o.get("positional_consistency").asDouble());
        assertEquals(2 / 4.0, o.get("order_agreement").asDouble(), "p4's two unparseable verdicts do not agree");
        assertEquals(3 / 8.0, o.get("unparseable_rate").asDouble());
    }

    @Test
    void handComputedRates() {
        List<JsonNode> js = new ArrayList<>();
        js.addAll(pair("p1", "s", "A", 'c', 'c')); // correct both, agree
        js.addAll(pair("p2", "s", "B", 'c', 'n')); // one unparseable: not consistent, not agreeing
        js.addAll(pair("p3", "s", "A", 'r', 'r')); // wrong both, agree
        js.addAll(pair("p4", "s", "B", 'n', 'n'));
        js.add(rec("p5", "s", "AB", "B", "B"));    // single order, correct
        JsonNode o = Metrics.summarize("other", js, 1, 0).get("overall");
        assertEquals(5, o.get("n").asInt());
        assertEquals(9, o.get("n_judgments").asInt());
        assertEquals(4, o.get("n_both_orders").asInt());
        assertEquals(4 / 9.0, o.get("accuracy").asDouble(), 1e-15, "p1 2, p2 1, p5 1");
        assertEquals(3 / 5.0, o.get("accuracy_ab").asDouble(), 1e-15);
        assertEquals(1 / 4.0, o.get("accuracy_ba").asDouble(), 1e-15);
        assertEquals(1 / 4.0, o.get("positional_consistency").asDouble(), 1e-15, "only p1, of the 4 with both");
        assertEquals(2 / 4.0, o.get("order_agreement").asDouble(), 1e-15, "p1 and p3");
        assertEquals(3 / 9.0, o.get("unparseable_rate").asDouble(), 1e-15);
        // parsed verdicts: p1 A(AB, label A) B(BA, label B); p2 B(AB); p3 B(AB) A(BA); p5 B
        assertEquals(2 / 6.0, o.get("first_slot_rate").asDouble(), 1e-15);
        assertTrue(o.get("ci95").get("accuracy").isNull(), "no bootstrap with 0 samples");
    }

    @Test
    void judgeBenchCounterRule() {
        List<JsonNode> js = new ArrayList<>();
        js.addAll(pair("a", "math", "A", 'c', 'n')); // +1: correct
        js.addAll(pair("b", "math", "B", 'c', 'r')); // 0: wrong
        js.addAll(pair("c", "coding", "A", 'n', 'n')); // 0: wrong
        js.addAll(pair("d", "coding", "B", 'c', 'c')); // +2
        JsonNode s = Metrics.summarize("JudgeBench", js, 3, 100);
        assertEquals(0.5, s.get("judgebench_score").asDouble());
        assertEquals(0.5, s.get("judgebench").get("categories").get("math").get("score").asDouble());
        assertEquals(0.5, s.get("judgebench").get("categories").get("coding").get("score").asDouble());
        assertEquals(1, s.get("judgebench").get("both_orders").get("all_correct").asInt());
        assertEquals(0.25, s.get("overall").get("positional_consistency").asDouble());
    }

    private static List<JsonNode> rmbenchPrompt(String prompt, String domain, boolean[][] correct) {
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                for (ObjectNode r : pair(prompt + "-" + i + j, domain, (i + j) % 2 == 0 ? "A" : "B",
                        correct[i][j] ? 'c' : 'r', correct[i][j] ? 'c' : 'r')) {
                    r.put("group", prompt);
                    r.put("i", i);
                    r.put("j", j);
                    r.put("domain", domain);
                    out.add(r);
                }
            }
        }
        return out;
    }

    @Test
    void rmBenchTrianglesAndSafetyPooling() {
        boolean[][] hardWrong = {{true, false, false}, {true, true, false}, {true, true, true}};
        boolean[][] allRight = {{true, true, true}, {true, true, true}, {true, true, true}};
        List<JsonNode> js = new ArrayList<>();
        js.addAll(rmbenchPrompt("q1", "chat", hardWrong));
        js.addAll(rmbenchPrompt("q2", "safety-refuse", hardWrong));
        js.addAll(rmbenchPrompt("q3", "safety-response", allRight));
        JsonNode rb = Metrics.summarize("rm-bench", js, 5, 100).get("rmbench");
        JsonNode chat = rb.get("domains").get("chat");
        assertEquals(0.0, chat.get("hard").asDouble(), "upper triangle: chosen plainer than rejected");
        assertEquals(1.0, chat.get("normal").asDouble());
        assertEquals(1.0, chat.get("easy").asDouble());
        assertEquals(2 / 3.0, chat.get("score").asDouble(), 1e-15);
        JsonNode safety = rb.get("domains").get("safety");
        assertEquals(2, safety.get("n_prompts").asInt(), "safety-refuse and safety-response pooled");
        assertEquals(0.5, safety.get("hard").asDouble());
        assertEquals(0.5, safety.get("matrix").get(0).get(1).asDouble());
        assertEquals(0.25, rb.get("hard").asDouble(), "mean over chat and safety");
        assertEquals((2 / 3.0 + 5 / 6.0) / 2, rb.get("average").asDouble(), 1e-15);
        assertEquals(false, rb.get("complete").asBoolean());
    }

    @Test
    void rmBenchCellWithOneOrderCorrectCountsHalf() {
        List<JsonNode> js = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                for (ObjectNode r : pair("x-" + i + j, "math", "A", 'c', i == 0 && j == 2 ? 'r' : 'c')) {
                    r.put("group", "x");
                    r.put("i", i);
                    r.put("j", j);
                    r.put("domain", "math");
                    js.add(r);
                }
            }
        }
        JsonNode m = Metrics.summarize("rmbench", js, 5, 0).get("rmbench").get("domains").get("math");
        assertEquals((1 + 1 + 0.5) / 3, m.get("hard").asDouble(), 1e-15);
    }

    @Test
    void rmbBestOfNNeedsEveryLoserBeatenInBothOrders() {
        List<JsonNode> js = new ArrayList<>();
        String[][] items = {{"cc", "cc", "cc"}, {"cc", "rr", "cc"}, {"cc", "cr"}, {"cc", "cn"}};
        for (int k = 0; k < items.length; k++) {
            for (int l = 0; l < items[k].length; l++) {
                for (ObjectNode r : pair("bon" + k + "-" + l, "bon", l % 2 == 0 ? "A" : "B", items[k][l].charAt(0),
                        items[k][l].charAt(1))) {
                    r.put("group", "bon" + k);
                    r.put("set", "bon");
                    r.put("section", "Helpfulness");
                    r.put("loser", l);
                    js.add(r);
                }
            }
        }
        for (ObjectNode r : pair("pw", "pairwise", "B", 'c', 'r')) {
            r.put("set", "pairwise");
            r.put("section", "Harmlessness");
            js.add(r);
        }
        JsonNode s = Metrics.summarize("RMB", js, 5, 100);
        assertEquals(0.25, s.get("rmb_bon_accuracy").asDouble(), "only the first item");
        assertEquals(0.25, s.get("rmb").get("bon").get("Helpfulness").get("accuracy").asDouble());
        assertEquals(0.5, s.get("rmb").get("pairwise").get("Harmlessness").get("accuracy").asDouble());
        assertEquals(0.375, s.get("rmb").get("average").asDouble(), "the sections present");
        assertEquals(false, s.get("rmb").get("complete").asBoolean());
    }

    @Test
    void bootstrapIsSeededAndBracketsThePointEstimate() {
        List<JsonNode> js = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(42);
        char[] v = {'c', 'c', 'c', 'r', 'n'};
        for (int k = 0; k < 80; k++) {
            js.addAll(pair("k" + k, "s" + (k % 3), r.nextBoolean() ? "A" : "B", v[r.nextInt(5)], v[r.nextInt(5)]));
        }
        ObjectNode a = Metrics.summarize("judgebench", js, 123, 500);
        ObjectNode b = Metrics.summarize("judgebench", js, 123, 500);
        ObjectNode c = Metrics.summarize("judgebench", js, 124, 500);
        assertEquals(a, b, "same seed, same summary");
        assertNotEquals(a.get("overall").get("ci95"), c.get("overall").get("ci95"), "another seed, other intervals");
        for (JsonNode scope : List.of(a.get("overall"), a.get("subsets").get("s0"), a.get("subsets").get("s2"))) {
            for (String m : Rates.NAMES) {
                double p = scope.get(m).asDouble();
                JsonNode ci = scope.get("ci95").get(m);
                assertTrue(ci.get(0).asDouble() <= p && p <= ci.get(1).asDouble(), m + " " + p + " in " + ci);
                assertTrue(ci.get(0).asDouble() < ci.get(1).asDouble(), m + ": a real interval " + ci);
            }
        }
        double score = a.get("judgebench_score").asDouble();
        JsonNode ci = a.get("judgebench_score_ci95");
        assertTrue(ci.get(0).asDouble() <= score && score <= ci.get(1).asDouble());
    }

    @Test
    void bootstrapScopesAreIndependent() {
        // A subset's interval does not depend on the other subsets.
        List<JsonNode> js = new ArrayList<>();
        for (int k = 0; k < 40; k++) {
            js.addAll(pair("k" + k, "one", "A", k % 3 == 0 ? 'r' : 'c', 'c'));
        }
        List<JsonNode> more = new ArrayList<>(js);
        for (int k = 0; k < 40; k++) {
            more.addAll(pair("m" + k, "two", "B", 'c', k % 2 == 0 ? 'n' : 'c'));
        }
        assertEquals(Metrics.summarize("x", js, 9, 300).get("subsets").get("one"),
                Metrics.summarize("x", more, 9, 300).get("subsets").get("one"));
    }

    @Test
    void typeSevenPercentiles() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) = [1.075, 3.925]
        double[] p = Bootstrap.percentiles(new double[] {4, 1, Double.NaN, 3, 2});
        assertEquals(1.075, p[0], 1e-12);
        assertEquals(3.925, p[1], 1e-12);
    }

    @Test
    void reflectAndConfidenceBlocks() {
        List<ObjectNode> js = new ArrayList<>();
        js.addAll(pair("a", "s", "A", 'c', 'r')); // AB correct, BA wrong
        js.addAll(pair("b", "s", "B", 'c', 'n')); // AB correct, BA unparseable
        String[] decided = {"anchor", "winners", "anchor", "fallback"};
        double[][] conf = {{-1.0, -0.5}, {-2.0}, {-0.1, -0.9}, {}};
        for (int k = 0; k < 4; k++) {
            js.get(k).put("mode", "reflect");
            js.get(k).put("decided_by", decided[k]);
            if (conf[k].length > 0) {
                var a = js.get(k).putArray("confidences");
                for (double c : conf[k]) {
                    a.add(c);
                }
            }
        }
        JsonNode s = Metrics.summarize("x", new ArrayList<>(js), 1, 0);
        JsonNode d = s.get("reflect").get("decided_by");
        assertEquals(4, s.get("reflect").get("n_judgments").asInt());
        assertEquals(2, d.get("anchor").get("count").asInt());
        assertEquals(0.5, d.get("anchor").get("rate").asDouble());
        assertEquals(1.0, d.get("anchor").get("accuracy").asDouble(), "a AB and b AB are correct");
        assertEquals(0.0, d.get("winners").get("accuracy").asDouble());
        assertEquals(0.25, d.get("fallback").get("rate").asDouble());
        assertEquals(4, s.get("modes").get("reflect").asInt());

        JsonNode c = s.get("confidence");
        assertEquals(3, c.get("n_judgments").asInt());
        assertEquals(-2.0, c.get("min").asDouble());
        assertEquals(-0.1, c.get("max").asDouble());
        assertEquals(21, c.get("edges").size());
        // width 0.095: -2.0 -> bin 0, -1.0 -> 10, -0.9 -> 11, -0.5 -> 15, -0.1 -> 19 (the last bin is closed)
        int[] correct = new int[20];
        correct[10] = 1;
        correct[11] = 1;
        correct[15] = 1;
        correct[19] = 1;
        for (int b = 0; b < 20; b++) {
            assertEquals(correct[b], c.get("rollouts").get("correct").get(b).asInt(), "correct rollouts, bin " + b);
            assertEquals(b == 0 ? 1 : 0, c.get("rollouts").get("wrong").get(b).asInt(), "wrong rollouts, bin " + b);
            assertEquals(0, c.get("rollouts").get("unparseable").get(b).asInt());
            assertEquals(b == 15 || b == 19 ? 1 : 0, c.get("judgment_max").get("correct").get(b).asInt());
        }
        assertEquals(-0.625, c.get("mean").get("correct").asDouble(), 1e-15);
        assertTrue(c.get("mean").get("unparseable").isNull());
        assertTrue(Metrics.summarize("x", List.of(rec("q", "s", "AB", "A", "A")), 1, 0).get("confidence") == null,
                "no block without confidences");
    }

    @Test
    void rolloutsAreBinnedByTheirOwnVerdictsWhenTheRecordHasThem() {
        // A correct judgment whose rollouts disagree: one wrong, one unparseable, one correct (slots as shown).
        ObjectNode j = rec("a", "s", "AB", "A", "A");
        j.putArray("confidences").add(-3.0).add(-2.0).add(-1.0);
        j.putArray("rollout_verdicts").add("B").addNull().add("A");
        JsonNode c = Metrics.summarize("x", List.of(j), 1, 0).get("confidence");
        assertEquals(1, c.get("rollouts").get("wrong").get(0).asInt(), "-3.0, the lowest, is wrong");
        assertEquals(1, c.get("rollouts").get("unparseable").get(10).asInt(), "-2.0 is unparseable");
        assertEquals(1, c.get("rollouts").get("correct").get(19).asInt(), "-1.0, the highest, is correct");
        assertEquals(1, c.get("judgment_max").get("correct").get(19).asInt(), "the judgment itself was correct");
        assertEquals(-3.0, c.get("mean").get("wrong").asDouble());
    }

    @Test
    void rejectsBrokenRecords() {
        List<JsonNode> dup = List.of(rec("a", "s", "AB", "A", "A"), rec("a", "s", "AB", "A", "B"));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("x", dup, 1, 0));
        List<JsonNode> sameLabel = List.of(rec("a", "s", "AB", "A", "A"), rec("a", "s", "BA", "A", "B"));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("x", sameLabel, 1, 0));
        List<JsonNode> tie = List.of(rec("a", "s", "AB", "A", "tie"));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("x", tie, 1, 0));
        List<JsonNode> order = List.of(rec("a", "s", "BB", "A", "A"));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("x", order, 1, 0));
        List<JsonNode> noIndex = List.of(rec("a", "s", "AB", "A", "A").put("domain", "chat"));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("rmbench", noIndex, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Metrics.summarize("x", List.of(), 1, -1));
    }

    @Test
    void emptyInput() {
        JsonNode s = Metrics.summarize("judgebench", List.of(), 1, 10);
        assertEquals(0, s.get("overall").get("n").asInt());
        assertTrue(s.get("overall").get("accuracy").isNull());
        assertTrue(s.get("judgebench_score").isNull());
    }
}
