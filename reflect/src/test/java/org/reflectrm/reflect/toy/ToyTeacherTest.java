package org.reflectrm.reflect.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.train.data.SftDataOptions;
import org.reflectrm.model.train.data.SftDataset;
import org.reflectrm.model.train.data.SftEncoder;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.reflect.toy.ToyDomain.Pair;
import org.reflectrm.reflect.toy.ToyDomain.Split;
import org.reflectrm.reflect.toy.ToyTeacher.Critique;
import org.reflectrm.reflect.toy.ToyTeacher.Example;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/** The toy teacher: its format, its slips, its reflection judgments and the JSONL it writes. */
class ToyTeacherTest {
    static final ToyDomain DOMAIN = new ToyDomain(11);
    static final ToyTeacher TEACHER = new ToyTeacher(5);
    static final Pattern FORMAT = Pattern.compile(
            "<Analysis>(.+); R1 says (-?\\d+) \\((yes|no)\\), R2 says (-?\\d+) \\((yes|no)\\); R([12]) is right\\.</Analysis>\n<Result>(.+)</Result>");

    @Test
    void judgmentFormatAndContent() {
        Pair p = new Pair("x", ToyDomain.Task.ADD, "What is 7+5?", "The answer is 12.", "7+5=13", "12", "13", Split.TRAIN);
        assertEquals("<Analysis>7+5=12; R1 says 12 (yes), R2 says 13 (no); R1 is right.</Analysis>\n"
                + "<Result>Response 1 is better than Response 2</Result>", ToyTeacher.critique(p, true, false).text());
        assertEquals("<Analysis>7+5=13; R1 says 13 (yes), R2 says 12 (no); R1 is right.</Analysis>\n"
                + "<Result>Response 1 is better than Response 2</Result>", ToyTeacher.critique(p, false, true).text());
        for (Pair q : DOMAIN.pairs(Split.TRAIN, 1000)) {
            for (boolean chosenFirst : new boolean[] {true, false}) {
                Critique c = TEACHER.judge(q, chosenFirst);
                Matcher m = FORMAT.matcher(c.text());
                assertTrue(m.matches(), c.text());
                Verdict v = Verdict.parse(c.text(), Verdict.Kind.RESPONSE);
                assertEquals(c.winner(), v.choice());
                assertEquals(Integer.parseInt(m.group(6)), c.winner());
                // the marks: exactly the winner's value matches the working
                assertEquals(c.winner() == 1 ? "yes" : "no", m.group(3));
                assertEquals(c.winner() == 2 ? "yes" : "no", m.group(5));
                int right = chosenFirst ? 1 : 2;
                assertEquals(c.slipped(), c.winner() != right);
                String[] shown = ToyTeacher.shown(q, chosenFirst);
                assertEquals(ToyDomain.valueOf(shown[0]), m.group(2));
                assertEquals(ToyDomain.valueOf(shown[1]), m.group(4));
                // the working is computed from the question: the right one, or on a slip the distractor's
                assertEquals(c.slipped() ? q.understood().workFor(q.distractor()) : q.understood().work(), m.group(1));
            }
        }
    }

    @Test
    void slipRateIsNearTheConfiguredOnesAndUsesTheDistractor() {
        List<Pair> pairs = DOMAIN.pairs(Split.TRAIN, 10000);
        int wrongFirst = 0, wrongSecond = 0;
        for (Pair p : pairs) {
            Critique a = TEACHER.judge(p, false), b = TEACHER.judge(p, true);
            wrongFirst += a.slipped() ? 1 : 0;
            wrongSecond += b.slipped() ? 1 : 0;
            for (Critique c : new Critique[] {a, b}) {
                if (c.slipped()) {
                    assertTrue(c.text().startsWith("<Analysis>" + p.understood().workFor(p.distractor()) + ";"), c.text());
                    assertFalse(c.text().startsWith("<Analysis>" + p.understood().work() + ";"), c.text());
                }
            }
        }
        double n = pairs.size();
        assertEquals(ToyTeacher.DEFAULT_SLIP_WRONG_FIRST, wrongFirst / n, 0.015);
        assertEquals(ToyTeacher.DEFAULT_SLIP_WRONG_SECOND, wrongSecond / n, 0.015);
        assertEquals(0.19, (wrongFirst + wrongSecond) / (2 * n), 0.01);
        // deterministic, and configurable
        assertEquals(TEACHER.judge(pairs.get(3), true), new ToyTeacher(5).judge(pairs.get(3), true));
        ToyTeacher never = new ToyTeacher(5, 0, 0, TEACHER.template());
        assertTrue(pairs.stream().limit(500).noneMatch(p -> never.judge(p, false).slipped()));
    }

    @Test
    void reflectionPrefersTheCorrectCritique() {
        int correctFirst = 0;
        for (Pair p : DOMAIN.pairs(Split.TRAIN, 500)) {
            Example e = TEACHER.reflection(p);
            assertEquals("refl", e.kind());
            Verdict v = Verdict.parse(e.target(), Verdict.Kind.CRITIQUE);
            assertTrue(v.parsed(), e.target());
            assertEquals(e.winner(), v.choice());
            correctFirst += e.winner() == 1 ? 1 : 0;
            // the prompt holds both critiques, and the preferred one is the non-slipped one
            assertTrue(e.prompt().contains("[Critique 1]") && e.prompt().contains("[Critique 2]"));
            String preferred = e.prompt().split("\\[Critique " + e.winner() + "]\n")[1];
            assertTrue(preferred.startsWith(p.understood().work() + ";"), preferred);
            assertTrue(preferred.contains("\n\nVerdict: Response "), preferred);
            assertFalse(e.prompt().split("\\[Critiques for Judgment]")[1].contains("<Result>"), e.prompt());
            // it restates what the responses say and what each critique picks
            assertTrue(v.analysis().startsWith(p.understood().work() + "; R1 says "), v.analysis());
            assertTrue(v.analysis().matches(".*C1 picks R[12] = -?\\d+ \\((yes|no)\\), C2 picks R[12] = -?\\d+ \\((yes|no)\\); C" + e.winner()
                    + " is right\\."),
                    v.analysis());
        }
        assertTrue(correctFirst > 200 && correctFirst < 300, "correct critique first " + correctFirst + "/500");
    }

    @Test
    void reflectionPromptIsTheJudgesRendering() {
        Pair p = new Pair("x", ToyDomain.Task.ADD, "What is 7+5?", "12", "7+5=13", "12", "13", Split.TRAIN);
        Example e = TEACHER.reflection(p);
        String[] shown = e.prompt().contains("[Response 1]\n12\n") ? new String[] {"12", "7+5=13"} : new String[] {"7+5=13", "12"};
        boolean chosenFirst = shown[0].equals("12");
        String good = JudgePrompts.critique(Verdict.parse(ToyTeacher.critique(p, chosenFirst, false).text(), Verdict.Kind.RESPONSE));
        String bad = JudgePrompts.critique(Verdict.parse(ToyTeacher.critique(p, chosenFirst, true).text(), Verdict.Kind.RESPONSE));
        String ctx = JudgeTemplate.context(List.of(ChatMessage.user(p.question())));
        JudgeTemplate t = JudgeTemplate.bundled("v1");
        assertEquals(e.winner() == 1 ? t.renderAnalysis(ctx, shown[0], shown[1], good, bad)
                : t.renderAnalysis(ctx, shown[0], shown[1], bad, good), e.prompt());
        assertTrue(good.startsWith(chosenFirst ? "7+5=12; R1 says 12 (yes), R2 says 13 (no); R1 is right.\n\nVerdict: Response 1 is better"
                : "7+5=12; R1 says 13 (no), R2 says 12 (yes); R2 is right.\n\nVerdict: Response 2 is better"), good);
    }

    @Test
    void sftMixAndRendering() {
        List<Pair> pairs = DOMAIN.pairs(Split.TRAIN, 2000);
        List<Example> sft = TEACHER.sft(pairs, ToyTeacher.DEFAULT_REFLECTION_FRACTION);
        assertEquals(sft, new ToyTeacher(5).sft(pairs, ToyTeacher.DEFAULT_REFLECTION_FRACTION));
        long refl = sft.stream().filter(e -> e.kind().equals("refl")).count();
        assertEquals(0.30, refl / (double) sft.size(), 0.04);
        JudgeTemplate t = JudgeTemplate.bundled("v1");
        Example pref = sft.stream().filter(e -> e.kind().equals("pref")).findFirst().orElseThrow();
        Pair p = pairs.stream().filter(q -> pref.id().equals(q.id() + "-pref")).findFirst().orElseThrow();
        String ctx = JudgeTemplate.context(List.of(ChatMessage.user(p.question())));
        assertTrue(pref.prompt().equals(t.renderResponse(ctx, p.chosen(), p.rejected()))
                || pref.prompt().equals(t.renderResponse(ctx, p.rejected(), p.chosen())));
    }

    @Test
    void factExamplesAskTheQuestionPlainlyAndAnswerWithTheWorkingAlone() {
        List<Pair> pairs = DOMAIN.pairs(Split.TRAIN, 2000);
        List<Example> sft = TEACHER.sft(pairs, 0.3, 0.25);
        List<Example> facts = sft.stream().filter(e -> e.kind().equals("fact")).toList();
        assertEquals(0.25, facts.size() / (double) pairs.size(), 0.04);
        assertEquals(pairs.size(), sft.size() - facts.size(), "every pair still gives one judge example");
        // adding facts leaves the judge examples as they were
        assertEquals(TEACHER.sft(pairs, 0.3), sft.stream().filter(e -> !e.kind().equals("fact")).toList());
        for (Example f : facts) {
            Pair p = pairs.stream().filter(q -> f.id().equals(q.id() + "-fact")).findFirst().orElseThrow();
            assertEquals(p.question(), f.prompt());
            assertEquals(p.understood().work(), f.target());
        }
        Pair sum = new Pair("x", ToyDomain.Task.ADD, "What is 7 + 5?", "12", "7+5=13", "12", "13", Split.TRAIN);
        assertEquals(new Example("x-fact", "fact", "add", "What is 7 + 5?", "7+5=12", 0, false), ToyTeacher.fact(sum));
    }

    @Test
    void jsonlParsesWithTheProjectsReaders() throws Exception {
        List<Pair> pairs = DOMAIN.pairs(Split.HELD_OUT, 50);
        StringWriter pw = new StringWriter();
        ToyJsonl.writePairs(pw, pairs);
        String[] lines = pw.toString().split("\n");
        assertEquals(pairs.size(), lines.length);
        for (int i = 0; i < lines.length; i++) {
            PairRecord r = PairRecord.parse(lines[i], i + 1, 0);
            Pair p = pairs.get(i);
            assertEquals(p.id(), r.id());
            assertEquals(p.task().id, r.subset());
            assertEquals(p.question(), r.conversation().getFirst().content());
            assertEquals(p.chosen(), r.label().equals("A") ? r.responseA() : r.responseB());
        }

        List<Example> sft = TEACHER.sft(DOMAIN.pairs(Split.TRAIN, 40), 0.3);
        StringWriter sw = new StringWriter();
        ToyJsonl.writeSft(sw, sft);
        String[] sl = sw.toString().split("\n");
        for (int i = 0; i < sl.length; i++) {
            JsonNode o = SftRecordParser.object(sl[i], "{\"messages\": [...]}");
            List<ChatMessage> m = SftRecordParser.messages(o.get("messages"));
            assertEquals(List.of("user", "assistant"), m.stream().map(ChatMessage::role).toList());
            assertEquals(sft.get(i).prompt(), m.get(0).content());
            assertEquals(sft.get(i).target(), m.get(1).content());
            assertEquals("", m.get(1).reasoningContent());
        }
        SftDataset ds = SftDataset.read(sw.toString().getBytes(StandardCharsets.UTF_8), "toy-sft.jsonl",
                new SftEncoder(Tokenizer.qwen3(), Qwen3ChatTemplate.current()), new SftDataOptions(4096, SftDataOptions.OverLong.REJECT, true));
        assertEquals(sft.size(), ds.examples().size());
        // what the model is trained on starts with exactly the judge's prompt tokens, and learns from there
        JudgePrompts prompts = new JudgePrompts(Tokenizer.qwen3(), Qwen3ChatTemplate.current(), JudgeTemplate.bundled("v1"));
        for (int i = 0; i < sft.size(); i++) {
            int[] judgePrompt = JudgePrompts.encodeChat(Tokenizer.qwen3(), Qwen3ChatTemplate.current(),
                    List.of(ChatMessage.user(sft.get(i).prompt())));
            var ex = ds.examples().get(i);
            assertTrue(ex.tokens().length > judgePrompt.length);
            assertEquals(java.util.Arrays.toString(judgePrompt),
                    java.util.Arrays.toString(java.util.Arrays.copyOf(ex.tokens(), judgePrompt.length)), sft.get(i).id());
            // (the SFT encoder trains on the assistant turn from its start, so the empty think block
            // that the judge's generation prompt already holds carries loss too; harmless)
            assertFalse(ex.lossMask()[0]);
        }
        assertTrue(ds.examples().stream().allMatch(e -> e.targetCount() > 10));
    }
}
