package org.reflectrm.reflect.eval.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/** Detection from the first record's fields, a named benchmark, and the errors a bad file gets. */
class AdapterDetectionTest {
    private static BenchmarkFiles.Loaded read(String text, String benchmark) {
        return BenchmarkFiles.read(text.getBytes(StandardCharsets.UTF_8), "in.jsonl", benchmark, 1);
    }

    private static String error(String text, String benchmark) {
        return assertThrows(BadInputException.class, () -> read(text, benchmark)).getMessage();
    }

    @Test
    void everySampleIsDetectedFromItsFieldsAndReadsTheSameWhenNamed() throws Exception {
        for (String[] s : Samples.ALL) {
            BenchmarkFiles.Loaded detected = Samples.load(s[0], 5);
            assertEquals(s[1], detected.benchmark(), s[0]);
            BenchmarkFiles.Loaded named = BenchmarkFiles.read(Samples.path(s[0]), s[1], 5);
            assertEquals(detected, named, s[0]);
        }
    }

    @Test
    void anUnknownSchemaNamesTheFieldsItFoundAndWhatWasExpected() {
        String m = error("\n{\"question\": \"q\", \"answer_1\": \"a\", \"answer_2\": \"b\"}\n", null);
        assertTrue(m.startsWith("in.jsonl line 2: unknown schema: fields [question, answer_1, answer_2]; expected one of:"
                + " JudgeBench (question, response_A, response_B, label \"A>B\"|\"B>A\", source), RM-Bench ("), m);
        for (Benchmark b : Benchmark.values()) {
            assertTrue(m.contains(b.title() + " (" + b.fields() + ")"), b + " in " + m);
        }
        assertTrue(m.endsWith("or name the benchmark (" + Benchmark.ids() + ")"), m);
        String array = assertThrows(BadInputException.class, () -> BenchmarkFiles.read(
                "[\n  {\"a\": 1}\n]".getBytes(StandardCharsets.UTF_8), "x.json", null, 1)).getMessage();
        assertTrue(array.startsWith("x.json index 0 (line 2): unknown schema: fields [a];"), array);
    }

    @Test
    void anUnknownBenchmarkIdListsTheKnownOnes() {
        String m = error("{}", "rewardbench3");
        assertEquals("unknown benchmark \"rewardbench3\"; one of: judgebench, rm-bench, rmb, rewardbench, rewardbench2,"
                + " ppe, helpsteer3, pairs", m);
        assertEquals(Benchmark.HELPSTEER3, Benchmark.byId("helpsteer3"));
    }

    @Test
    void aNamedBenchmarkThatDoesNotFitSaysWhichFieldIsMissingAndWhere() throws Exception {
        String m = assertThrows(BadInputException.class,
                () -> BenchmarkFiles.read(Samples.path("ppe.jsonl"), "helpsteer3", 1)).getMessage();
        assertTrue(m.endsWith("ppe.jsonl line 1 (record \"4a1f0c9e8b7d4e2fa3c5b6d7e8f90112\"):"
                + " HelpSteer3-Preference record has no \"context\""), m);
    }

    @Test
    void aMalformedRecordNamesItsLineOrIndexAndNothingIsSkipped() {
        String good = "{\"pair_id\": \"a\", \"question\": \"q\", \"response_A\": \"x\", \"response_B\": \"y\", \"label\": \"A>B\","
                + " \"source\": \"livecodebench\"}";
        String m = error(good + "\n" + good.replace("\"a\"", "\"b\"").replace("\"A>B\"", "\"A=B\""), null);
        assertEquals("in.jsonl line 2 (record \"b\"): JudgeBench record \"label\" must be \"A>B\" or \"B>A\", got \"A=B\"", m);
        m = error(good + "\n{\"pair_id\": \"c\", \"question\": 3}", null);
        assertTrue(m.startsWith("in.jsonl line 2 (record \"c\"): JudgeBench record \"question\" must be a string, got a number"), m);
        m = error(good + "\n{\"pair_id\": \"c\",", null);
        assertTrue(m.startsWith("in.jsonl line 2: not valid JSON"), m);
        m = error(good.replace("livecodebench", "arena-hard"), null);
        assertTrue(m.contains("\"source\" \"arena-hard\" is none of JudgeBench's"), m);

        String rmb = "[{\"pair_uid\": \"u1\", \"category_path\": \"Pairwise_set/Helpfulness/Chat\", \"conversation_input\":"
                + " [{\"content\": \"q\", \"role\": \"user\"}], \"chosen\": {\"answer\": \"a\"}, \"reject\": {\"answer\": \"b\"}},\n"
                + " {\"pair_uid\": \"u2\", \"category_path\": \"Pairwise_set/Helpfulness/Chat\", \"conversation_input\":"
                + " [{\"content\": \"q\", \"role\": \"user\"}, {\"content\": \"a\", \"role\": \"assistant\"}],"
                + " \"chosen\": {\"answer\": \"a\"}, \"reject\": {\"answer\": \"b\"}}]";
        m = error(rmb, null);
        assertEquals("in.jsonl index 1 (line 2) (record \"u2\"): RMB record \"conversation_input\" must end with the user turn"
                + " the responses answer; the last turn has role \"assistant\"", m);
        String rmbOk = rmb.replace("{\"content\": \"a\", \"role\": \"assistant\"}]", "{\"content\": \"a\", \"role\": \"assistant\"},"
                + " {\"content\": \"and?\", \"role\": \"user\"}]");
        assertEquals(2, read(rmbOk, null).comparisons().size());
        m = error(rmbOk.replace("{\"answer\": \"b\"}}]", "{\"llm_name\": \"m\"}}]"), null);
        assertTrue(m.endsWith("(record \"u2\"): RMB record \"reject\" has no \"answer\""), m);
        m = error(rmbOk.replace("\"role\": \"assistant\"", "\"role\": \"tool\""), null);
        assertTrue(m.contains("\"conversation_input\"[1] has unknown role \"tool\""), m);
        m = error(rmb.substring(0, 60), null);
        assertTrue(m.startsWith("in.jsonl index 0 (line 1): not valid JSON at line 1"), m);
    }

    @Test
    void pairsNeedALabelForEval() {
        String m = error("{\"id\": \"p\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\"}", null);
        assertTrue(m.startsWith("in.jsonl line 1 (record \"p\"): pairs record has no label; eval scores against it"), m);
    }

    @Test
    void repeatedIdsEmptyFilesAndAllDroppedFilesAreErrors() {
        String rec = "{\"id\": \"p\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\", \"label\": \"A\"}";
        assertEquals("in.jsonl line 3: comparison id \"p\" again (first at line 1); ids must be unique, since scoring and"
                + " resuming go by them", error(rec + "\n\n" + rec, null));
        assertEquals("in.jsonl: no records (an empty file)", error("\n \n", null));
        assertEquals("in.jsonl: no records (an empty file)", error("[ ]", "ppe"));
        String tie = "{\"question_id\": \"t\", \"prompt\": \"q\", \"response_1\": \"a\", \"response_2\": \"b\", \"winner\": \"tie\"}";
        assertEquals("in.jsonl: no comparisons; all 1 PPE human preference records were dropped (tie: 1)", error(tie, null));
        String bad = tie.replace("\"tie\"", "\"model_c\"");
        assertTrue(error(bad, null).contains("\"winner\" must be \"model_a\", \"model_b\", \"tie\" or \"tie (bothbad)\","
                + " got \"model_c\""));
    }

    @Test
    void anyBenchmarkMayComeAsAJsonArrayAndRmBenchAsJsonLines() throws Exception {
        String jb = new String(Samples.bytes("judgebench.jsonl"), StandardCharsets.UTF_8).strip();
        String array = "\uFEFF[\n" + String.join(",\n", jb.split("\n")) + "\n]\n";
        BenchmarkFiles.Loaded fromArray = BenchmarkFiles.read(array.getBytes(StandardCharsets.UTF_8), "jb.json", null, 3);
        assertEquals(Samples.load("judgebench.jsonl", 3), fromArray);
        String m = error(array + "{}", null);
        assertTrue(m.startsWith("in.jsonl line 7: content after the array"), m);
        m = error("[" + jb.split("\n")[0], null);
        assertTrue(m.startsWith("in.jsonl index 1: "), m);
    }

    @Test
    void readingAMissingFileSaysSo() {
        String m = assertThrows(BadInputException.class,
                () -> BenchmarkFiles.read(Path.of("/nonexistent/rb.jsonl"), null, 0)).getMessage();
        assertEquals("/nonexistent/rb.jsonl: no such file", m);
    }
}
