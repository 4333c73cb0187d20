package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * eval end to end with a stand-in judge: a tiny model that SFT taught to answer "Response 1 is
 * better than Response 2" whatever it is shown. Judged in both orders it is right exactly once
 * per comparison: accuracy 0.5, positional consistency 0, first-slot rate 1, and JudgeBench's
 * counter is 0 for every pair (score 0). Also resume after a torn write, rescore, compare, the
 * report in a browser, and bad input.
 */
class EvalCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path shared;
    static String firstSlotJudge;
    static Path judgebench;

    @BeforeAll
    static void setUp() throws IOException {
        firstSlotJudge = ToyJudge.train(shared, "first-slot", 3, 32, "ok", 200, new Random(2), (i, rnd) -> 1);
        // JudgeBench's schema: pair_id, original_id, source, question, response_model, response_A, response_B, label.
        List<String> pairs = new ArrayList<>();
        String[] sources = {"mmlu-pro-math", "livebench-reasoning", "livebench-math", "livecodebench", "mmlu-pro-law", "livebench-math"};
        for (int i = 0; i < sources.length; i++) {
            pairs.add(JSON.createObjectNode().put("pair_id", "pair-" + i).put("original_id", "orig-" + i)
                    .put("source", sources[i]).put("question", "Is " + i + " even?").put("response_model", "m")
                    .put("response_A", i % 2 == 0 ? "yes" : "no").put("response_B", i % 2 == 0 ? "no" : "yes")
                    .put("label", i % 3 == 0 ? "A>B" : "B>A").toString());
        }
        judgebench = shared.resolve("judgebench.jsonl");
        Files.write(judgebench, pairs);
    }

    private static List<String> evalArgs(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("eval", "--model", firstSlotJudge, "--data", judgebench.toString(), "--out",
                out.toString(), "--mode", "greedy", "--max-new-tokens", "24", "--bootstrap", "200"));
        a.addAll(List.of(more));
        return a;
    }

    private static JsonNode summary(Path out) throws IOException {
        return JSON.readTree(out.resolve("summary.json").toFile());
    }

    @Test
    void aJudgeThatAlwaysPicksSlotAHasNoPositionalConsistency() throws IOException {
        Path out = shared.resolve("run");
        CliTest.Run run = CliTest.ok(evalArgs(out).toArray(String[]::new));
        assertTrue(run.out().contains("overall"), run.out());
        JsonNode s = summary(out);
        JsonNode overall = s.get("overall");
        assertEquals(6, overall.get("n").asInt());
        assertEquals(0.0, overall.get("unparseable_rate").asDouble(), "the stand-in always answers: " + overall);
        assertEquals(1.0, overall.get("first_slot_rate").asDouble());
        assertEquals(0.0, overall.get("positional_consistency").asDouble());
        assertEquals(0.5, overall.get("accuracy").asDouble());
        assertEquals(0.0, s.get("judgebench_score").asDouble(), "counter +1 - 1 = 0 is not > 0");
        List<String> lines = Files.readAllLines(out.resolve("judgments.jsonl"));
        assertEquals(12, lines.size(), "6 pairs x 2 orders");
        assertTrue(Files.readString(out.resolve("report.html")).contains("Accuracy against positional consistency"));

        // Rescoring needs no model and gives the same summary.
        byte[] first = Files.readAllBytes(out.resolve("summary.json"));
        CliTest.ok("eval", "--rescore", out.toString());
        assertEquals(new String(first), Files.readString(out.resolve("summary.json")));

        // A run killed mid-write: 5 whole judgments and a torn sixth. The rerun judges the rest and scores the same.
        Path resumed = shared.resolve("resumed");
        Files.createDirectories(resumed);
        Files.copy(out.resolve("run.json"), resumed.resolve("run.json"));
        Files.writeString(resumed.resolve("judgments.jsonl"), String.join("\n", lines.subList(0, 5)) + "\n"
                + lines.get(5).substring(0, 40));
        CliTest.Run again = CliTest.ok(evalArgs(resumed).toArray(String[]::new));
        assertTrue(again.err().contains("(5 already in"), again.err());
        assertEquals(12, Files.readAllLines(resumed.resolve("judgments.jsonl")).size());
        assertEquals(s.get("overall"), summary(resumed).get("overall"));
        assertEquals(s.get("judgebench_score"), summary(resumed).get("judgebench_score"));

        // Two runs side by side in one report.
        Path compared = shared.resolve("compared");
        CliTest.ok("eval", "--compare", out.toString(), resumed.toString(), "--out", compared.toString());
        String html = Files.readString(compared.resolve("report.html"));
        assertTrue(html.contains("<h2>run</h2>") && html.contains("<h2>resumed</h2>"), "both runs in the report");
        // The screenshot stays in target/ for a look after the build.
        BrowserCheck.rendersWithoutErrors(compared.resolve("report.html"), Path.of("target/eval-report.png"), "svg", "table");
    }

    @Test
    void badInputIsRefusedWithItsPlace() throws IOException {
        Path unknown = shared.resolve("unknown.jsonl");
        Files.writeString(unknown, "{\"question\": \"q\", \"answer_1\": \"a\", \"answer_2\": \"b\"}\n");
        CliTest.bad(List.of("eval", "--model", firstSlotJudge, "--data", unknown.toString(), "--out",
                shared.resolve("u").toString()), "answer_1", "answer_2");
        CliTest.bad(List.of("eval", "--rescore", shared.resolve("nothing").toString()), "no run.json");
        CliTest.bad(List.of("eval", "--rescore", shared.resolve("x").toString(), "--model", firstSlotJudge), "--rescore");
        CliTest.bad(List.of("eval", "--model", firstSlotJudge, "--data", judgebench.toString()), "--out");
        Path out = shared.resolve("settings");
        CliTest.ok(evalArgs(out, "--limit", "1").toArray(String[]::new));
        CliTest.bad(evalArgs(out, "--limit", "1", "--seed", "5"), "other settings", "seed was 0, now 5");
        CliTest.bad(evalArgs(shared.resolve("s2"), "--subset", "chemistry"), "--subset chemistry");
    }
}
