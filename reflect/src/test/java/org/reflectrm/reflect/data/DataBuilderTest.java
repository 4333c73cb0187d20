package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.chat.ChatMessage;

/** data build's recipe: easy pairs dropped, Pref and Refl records, the mix, SFT records, stats. */
class DataBuilderTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JudgeTemplate V1 = JudgeTemplate.bundled("v1");

    /** A pair labelled {@code label} whose sample i is correct (true), wrong but parseable (false) or unparseable (null). */
    static SampleRecord pair(String id, String label, Boolean... outcomes) {
        int right = SampleRecord.slot(label);
        List<SampleRecord.Sample> samples = new ArrayList<>();
        for (int i = 0; i < outcomes.length; i++) {
            if (outcomes[i] == null) {
                samples.add(new SampleRecord.Sample("rambling " + i, "rambling " + i, null, false, null, 3));
            } else {
                int slot = outcomes[i] ? right : 3 - right;
                String text = "<Analysis>" + id + " sample " + i + "</Analysis><Result>"
                        + Verdict.Kind.RESPONSE.sentence(slot) + "</Result>";
                samples.add(new SampleRecord.Sample(text, id + " sample " + i, SampleRecord.letter(slot), outcomes[i], -0.5, 9));
            }
        }
        return new SampleRecord(id, "BA", label, "v1", List.of(ChatMessage.user("question " + id)), "first " + id,
                "second " + id, null, samples);
    }

    private static DataBuilder.Built build(List<SampleRecord> pairs, DataBuilder.Format format, Ratio ratio, long seed) {
        return DataBuilder.build(pairs, V1, new DataBuilder.Options(format, ratio, seed), "s.jsonl", MAPPER);
    }

    /** easy, all wrong, mixed, mixed with only unparseable wrong ones, all unparseable. */
    private static List<SampleRecord> fivePairs() {
        return List.of(pair("easy", "A", true, true, true), pair("wrong", "B", false, null, false),
                pair("mixed", "B", false, true, null), pair("unparsed", "A", true, null, null),
                pair("silent", "A", null, null, null));
    }

    @Test
    void dropsEasyPairsAndBuildsPrefAndReflRecords() {
        DataBuilder.Built b = build(fivePairs(), DataBuilder.Format.GRPO, new Ratio(1, 1), 0);
        DataStats s = b.stats();
        assertEquals(List.of(5, 1, 2, 2, 4, 1, 1, 1), List.of(s.pairs(), s.easyDropped(), s.allWrong(), s.mixed(),
                s.prefCandidates(), s.reflCandidates(), s.pref(), s.refl()));
        assertEquals(List.of(2, 2, 0, 1), s.histogram(), "pairs by number correct, 0..3");
        JsonNode refl = only(b.records(), "refl");
        assertEquals("mixed", refl.get("pair_id").asText(), "the only pair with a correct and a parseable wrong analysis");
        JsonNode pref = only(b.records(), "pref");
        assertNotEquals("easy", pref.get("pair_id").asText());
    }

    @Test
    void prefRecordsAreTheJudgePromptWithTheShownLabel() {
        SampleRecord p = pair("p", "B", false, true);
        JsonNode r = build(List.of(p), DataBuilder.Format.GRPO, null, 0).records().getFirst();
        assertEquals(List.of("task", "prompt", "verdict_kind", "label", "template_version", "pair_id", "order"),
                fields(r));
        assertEquals("pref", r.get("task").asText());
        assertEquals("response", r.get("verdict_kind").asText());
        assertEquals(2, r.get("label").asInt());
        assertEquals("v1", r.get("template_version").asText());
        assertEquals("BA", r.get("order").asText());
        assertEquals(1, r.get("prompt").size());
        assertEquals("user", r.get("prompt").get(0).get("role").asText());
        assertEquals(V1.renderResponse("question p", "first p", "second p"), r.get("prompt").get(0).get("content").asText());
    }

    @Test
    void reflRecordsShowACorrectAndAWrongCritiqueAsTheJudgeDoes() {
        Set<String> orders = new HashSet<>();
        for (int k = 0; k < 40; k++) {
            SampleRecord p = pair("m" + k, k % 2 == 0 ? "A" : "B", true, null, false, true, false);
            DataBuilder.Reflection r = DataBuilder.reflection(p, 5);
            int first = r.first(), second = r.second();
            assertTrue(p.samples().get(first).correct() != p.samples().get(second).correct(), "one correct, one wrong");
            assertTrue(p.samples().get(first).parsed() && p.samples().get(second).parsed(), "never the unparseable one");
            orders.add(p.samples().get(first).correct() ? "correct first" : "wrong first");
            ObjectNode o = TrainingRecords.refl(MAPPER, p, first, second, V1);
            assertEquals("refl", o.get("task").asText());
            assertEquals("critique", o.get("verdict_kind").asText());
            assertEquals(p.samples().get(first).correct() ? 1 : 2, o.get("label").asInt(), "label: the correct critique's slot");
            assertEquals(List.of(first, second), List.of(o.get("samples").get(0).asInt(), o.get("samples").get(1).asInt()));
            String c1 = JudgePrompts.critique(Verdict.parse(p.samples().get(first).text(), Verdict.Kind.RESPONSE));
            String c2 = JudgePrompts.critique(Verdict.parse(p.samples().get(second).text(), Verdict.Kind.RESPONSE));
            assertEquals(V1.renderAnalysis("question m" + k, "first m" + k, "second m" + k, c1, c2),
                    o.get("prompt").get(0).get("content").asText());
            assertEquals(r, DataBuilder.reflection(p, 5), "seeded by the pair");
        }
        assertEquals(Set.of("correct first", "wrong first"), orders);
    }

    @Test
    void mixesAtTheRatioBySubsamplingTheLargerSide() {
        List<SampleRecord> pairs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            pairs.add(i < 8 ? pair("m" + i, "A", true, false) : pair("w" + i, "A", false, false));
        }
        pairs.add(pair("easy", "A", true, true));
        DataBuilder.Built b = build(pairs, DataBuilder.Format.GRPO, new Ratio(4, 1), 3);
        assertEquals(20, count(b.records(), "pref"), "every non-easy pair: 20 Pref");
        assertEquals(5, count(b.records(), "refl"), "20 Pref allow 5 of the 8 Refl candidates");
        Set<String> reflIds = ids(b.records(), "refl");
        assertEquals(5, reflIds.size(), "no pair twice");
        assertTrue(reflIds.stream().allMatch(id -> id.startsWith("m")));
        assertEquals(20, ids(b.records(), "pref").size());
        assertFalse(ids(b.records(), "pref").contains("easy"));

        DataBuilder.Built few = build(pairs, DataBuilder.Format.GRPO, new Ratio(1, 1), 3);
        assertEquals(List.of(8, 8), List.of(count(few.records(), "pref"), count(few.records(), "refl")),
                "1:1 cuts Pref to the 8 Refl");
        Set<String> otherSeed = ids(build(pairs, DataBuilder.Format.GRPO, new Ratio(1, 1), 4).records(), "pref");
        assertNotEquals(ids(few.records(), "pref"), otherSeed, "the seed picks which Pref records are kept");

        DataBuilder.Built only = build(pairs, DataBuilder.Format.GRPO, null, 3);
        assertEquals(List.of(20, 0), List.of(count(only.records(), "pref"), count(only.records(), "refl")));
    }

    @Test
    void theOrderIsShuffledAndReproducible() {
        List<SampleRecord> pairs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            pairs.add(pair("p" + i, "A", i % 3 == 0, false, true));
        }
        List<ObjectNode> a = build(pairs, DataBuilder.Format.GRPO, new Ratio(2, 1), 8).records();
        assertEquals(a, build(pairs, DataBuilder.Format.GRPO, new Ratio(2, 1), 8).records(), "same seed, same file");
        List<String> order = a.stream().map(r -> r.get("task").asText() + r.get("pair_id").asText()).toList();
        assertNotEquals(order.stream().sorted().toList(), order);
        int firstRefl = order.indexOf(order.stream().filter(s -> s.startsWith("refl")).findFirst().orElseThrow());
        assertTrue(order.subList(firstRefl, order.size()).stream().anyMatch(s -> s.startsWith("pref")),
                "Pref and Refl records are interleaved, not Refl appended");
    }

    @Test
    void sftRecordsAreTheCorrectSamplesOfKeptPairs() {
        DataBuilder.Built b = build(fivePairs(), DataBuilder.Format.SFT, null, 0);
        // kept: wrong (0 correct), mixed (1), unparsed (1), silent (0); easy is dropped.
        assertEquals(2, b.records().size());
        assertEquals(2, b.stats().pref());
        Set<String> seen = new HashSet<>();
        for (ObjectNode r : b.records()) {
            SampleRecord p = fivePairs().stream().filter(x -> x.id().equals(r.get("pair_id").asText())).findFirst().orElseThrow();
            int i = r.get("sample").asInt();
            assertTrue(p.samples().get(i).correct());
            seen.add(p.id() + "/" + i);
            assertEquals("pref", r.get("task").asText());
            JsonNode m = r.get("messages");
            assertEquals(2, m.size());
            assertEquals(V1.renderResponse("question " + p.id(), "first " + p.id(), "second " + p.id()),
                    m.get(0).get("content").asText());
            assertEquals("assistant", m.get(1).get("role").asText());
            assertEquals(p.samples().get(i).text(), m.get(1).get("content").asText());
            assertEquals("", m.get(1).get("reasoning_content").asText());
        }
        assertEquals(Set.of("mixed/1", "unparsed/0"), seen);
    }

    @Test
    void refusesWhatCannotBeBuilt() {
        List<SampleRecord> noMixed = List.of(pair("e", "A", true, true), pair("w", "A", false, false));
        BadInputException e = assertThrows(BadInputException.class,
                () -> build(noMixed, DataBuilder.Format.GRPO, new Ratio(4, 1), 0));
        assertTrue(e.getMessage().startsWith("s.jsonl: nothing to reflect on"), e.getMessage());
        assertTrue(e.getMessage().contains("1 easy, 1 all wrong, 0 mixed"), e.getMessage());
        assertEquals(1, build(noMixed, DataBuilder.Format.GRPO, null, 0).records().size(), "Pref only works");
        // A mixed pair whose wrong analyses are all unparseable has nothing to critique.
        assertThrows(BadInputException.class,
                () -> build(List.of(pair("u", "A", true, null)), DataBuilder.Format.GRPO, new Ratio(1, 1), 0));
        e = assertThrows(BadInputException.class,
                () -> build(List.of(pair("e", "A", true, true)), DataBuilder.Format.GRPO, null, 0));
        assertTrue(e.getMessage().contains("no training record left"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> build(List.of(pair("m", "A", true, false), pair("n", "A", true, false)), DataBuilder.Format.GRPO,
                        new Ratio(4, 1), 0));
        assertTrue(e.getMessage().contains("impossible"), e.getMessage());
    }

    @Test
    void statsAsJsonAndTable() {
        DataStats s = build(fivePairs(), DataBuilder.Format.GRPO, new Ratio(1, 1), 0).stats();
        JsonNode j = s.toJson(MAPPER);
        assertEquals(5, j.get("pairs").asInt());
        assertEquals(1, j.get("easy_dropped").asInt());
        assertEquals(2, j.get("all_wrong").asInt());
        assertEquals(2, j.get("mixed").asInt());
        assertEquals(1, j.get("pref").asInt());
        assertEquals(1, j.get("refl").asInt());
        assertEquals("[2,2,0,1]", j.get("n_correct_histogram").toString());
        assertEquals("1:1", j.get("mix").asText());
        String table = s.table();
        assertTrue(table.contains("easy (dropped)        1"), table);
        assertTrue(table.lines().anyMatch(l -> l.matches("\\s+3\\s+1")), table);
    }

    private static JsonNode only(List<ObjectNode> records, String task) {
        List<ObjectNode> mine = records.stream().filter(r -> r.get("task").asText().equals(task)).toList();
        assertEquals(1, mine.size(), task);
        return mine.getFirst();
    }

    private static int count(List<ObjectNode> records, String task) {
        return (int) records.stream().filter(r -> r.get("task").asText().equals(task)).count();
    }

    private static Set<String> ids(List<ObjectNode> records, String task) {
        Set<String> out = new HashSet<>();
        records.stream().filter(r -> r.get("task").asText().equals(task)).forEach(r -> out.add(r.get("pair_id").asText()));
        return out;
    }

    private static List<String> fields(JsonNode o) {
        List<String> out = new ArrayList<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
