package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** judge on a tiny random checkpoint: the output record, determinism, both orders, bad input. */
class JudgeCommandTest {
    @TempDir
    static Path shared;
    static String tiny;

    @BeforeAll
    static void makeTinyModel() {
        tiny = shared.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "2", "--out", tiny);
    }

    @Test
    void reflectPrintsEveryRolloutAndIsDeterministic() {
        String[] args = {"judge", "--model", tiny, "--prompt", "2+2?", "--a", "4", "--b", "5<|im_end|>", "--rollouts", "3",
            "--max-new-tokens", "8", "--seed", "3", "--json"};
        JsonNode a = CliTest.ok(args).json();
        JsonNode b = CliTest.ok(args).json();
        assertEquals("reflect", a.get("mode").asText());
        assertEquals("v1", a.get("template_version").asText());
        assertEquals(3, a.get("rollouts").size());
        for (JsonNode r : a.get("rollouts")) {
            assertTrue(r.has("analysis") && r.has("verdict") && r.has("confidence"), r.toString());
        }
        assertTrue(a.has("anchor") && a.has("reflections") && a.has("winners"));
        assertTrue(a.get("verdict").isNull() || List.of("A", "B").contains(a.get("verdict").asText()));
        assertEquals(a.get("rollouts"), b.get("rollouts"), "same seed, same analyses");
        assertEquals(a.get("verdict"), b.get("verdict"));
    }

    @Test
    void bothOrdersAndTheBaselines() {
        JsonNode both = CliTest.ok("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "vote",
                "--rollouts", "2", "--max-new-tokens", "4", "--both-orders", "--json").json();
        assertEquals(2, both.get("orders").size());
        assertEquals("BA", both.get("orders").get(1).get("order").asText());
        assertTrue(both.has("verdict") && both.has("status"));
        JsonNode greedy = CliTest.ok("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "greedy",
                "--max-new-tokens", "4", "--json").json();
        assertEquals(1, greedy.get("rollouts").size());
    }

    @Test
    void batchJudgesEveryShapeReportsBadLinesAndResumes() throws java.io.IOException {
        Path input = shared.resolve("pairs.jsonl");
        Path output = shared.resolve("verdicts.jsonl");
        java.nio.file.Files.writeString(input, String.join("\n",
                "{\"id\": \"p1\", \"prompt\": \"2+2?\", \"response_a\": \"4\", \"response_b\": \"5\", \"label\": \"A\"}",
                "{\"id\": \"p2\", \"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\"}",
                "{\"id\": \"broken\", \"prompt\": \"q\", \"response_a\": \"x\"}",
                "{\"pair_id\": \"jb-1\", \"question\": \"q\", \"response_A\": \"a\", \"response_B\": \"b\", \"label\": \"B>A\", \"source\": \"mmlu-pro-math\"}",
                ""));
        List<String> base = List.of("judge", "--model", tiny, "--input", input.toString(), "--output", output.toString(),
                "--mode", "greedy", "--max-new-tokens", "4");
        // The malformed line is reported and skipped, the others judged, and the exit code is 2 (SkippedLines).
        CliTest.Run first = CliTest.bad(base, "line 3: has no \"response_b\"", "judged 3 pairs",
                "1 of 4 lines skipped as bad", "the other pairs were judged");
        List<String> lines = java.nio.file.Files.readAllLines(output);
        assertEquals(3, lines.size());
        JsonNode p2 = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(1));
        assertEquals("p2", p2.get("id").asText());
        assertTrue(List.of("chosen=A", "chosen=B").contains(p2.get("placement").asText()));
        assertEquals(p2.get("placement").asText().endsWith("A") ? "A" : "B", p2.get("label").asText());
        JsonNode jb = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(2));
        assertEquals("jb-1", jb.get("id").asText());
        assertEquals("B", jb.get("label").asText());
        assertEquals("mmlu-pro-math", jb.get("subset").asText());

        // A crash mid-write leaves a torn line: the rerun drops it, judges what is missing, and nothing twice.
        java.nio.file.Files.write(output, List.of(lines.get(0), lines.get(1).substring(0, 20)));
        CliTest.Run second = CliTest.bad(base, "1 of 4 lines skipped as bad");
        assertTrue(second.err().contains("judged 2 pairs") && second.err().contains("1 already in"), second.err());
        List<String> after = java.nio.file.Files.readAllLines(output);
        assertEquals(3, after.size());
        assertEquals(List.of("p1", "p2", "jb-1"), after.stream()
                .map(l -> { try { return new com.fasterxml.jackson.databind.ObjectMapper().readTree(l).get("id").asText(); }
                            catch (java.io.IOException e) { throw new AssertionError(e); } }).toList());
    }

    /** A repeated id is refused before any judging, naming both lines; --dedupe judges the first and drops the rest. */
    @Test
    void duplicateIdsAreAnErrorOrDroppedWithDedupe() throws java.io.IOException {
        Path input = shared.resolve("dupes.jsonl");
        java.nio.file.Files.writeString(input, String.join("\n",
                "{\"id\": \"p1\", \"prompt\": \"q\", \"response_a\": \"x\", \"response_b\": \"y\"}",
                "{\"id\": \"p2\", \"prompt\": \"q\", \"response_a\": \"x\", \"response_b\": \"z\"}",
                "{\"id\": \"p1\", \"prompt\": \"other\", \"response_a\": \"u\", \"response_b\": \"v\"}", ""));
        Path output = shared.resolve("dupes-out.jsonl");
        List<String> base = List.of("judge", "--model", tiny, "--input", input.toString(), "--output", output.toString(),
                "--mode", "greedy", "--max-new-tokens", "4");
        CliTest.bad(base, "line 3", "\"p1\" again (first on line 1)", "--dedupe");
        assertTrue(!java.nio.file.Files.exists(output) || java.nio.file.Files.size(output) == 0, "nothing judged");
        List<String> dedupe = new java.util.ArrayList<>(base);
        dedupe.add("--dedupe");
        CliTest.Run r = CliTest.ok(dedupe.toArray(String[]::new));
        assertTrue(r.err().contains("line 3") && r.err().contains("dropped") && r.err().contains("judged 2 pairs")
                && r.err().contains("1 duplicate ids dropped"), r.err());
        assertEquals(2, java.nio.file.Files.readAllLines(output).size());
    }

    /** A file of random bytes judges nothing and exits 2, as tokenize --jsonl does. */
    @Test
    void garbageInputExitsTwo() throws java.io.IOException {
        Path input = shared.resolve("garbage.jsonl");
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        java.nio.file.Files.write(input, junk);
        CliTest.bad(List.of("judge", "--model", tiny, "--input", input.toString(), "--output",
                shared.resolve("garbage-out.jsonl").toString(), "--mode", "greedy"), "malformed lines skipped", "skipped as bad");
    }

    /** Pairs judged K at a time give the records one at a time gives (timings aside). */
    @Test
    void batchedPairsGiveTheSameRecords() throws java.io.IOException {
        Path input = shared.resolve("batch-pairs.jsonl");
        java.nio.file.Files.writeString(input, String.join("\n",
                "{\"id\": \"a\", \"prompt\": \"2+2?\", \"response_a\": \"4\", \"response_b\": \"5\"}",
                "{\"id\": \"b\", \"prompt\": \"Name a colour.\", \"response_a\": \"red\", \"response_b\": \"seven\"}",
                "{\"id\": \"c\", \"prompt\": \"2+2?\", \"chosen\": \"four\", \"rejected\": \"five\"}", ""));
        for (List<String> mode : List.of(List.of("--mode", "greedy"), List.of("--mode", "reflect", "--both-orders"))) {
            List<JsonNode> runs = new java.util.ArrayList<>();
            for (String k : List.of("1", "3")) {
                Path output = shared.resolve("batch-pairs-" + mode.get(1) + "-" + k + ".jsonl");
                List<String> args = new java.util.ArrayList<>(List.of("judge", "--model", tiny, "--input", input.toString(),
                        "--output", output.toString(), "--rollouts", "3", "--max-new-tokens", "6", "--seed", "5",
                        "--batch-pairs", k));
                args.addAll(mode);
                assertTrue(CliTest.ok(args.toArray(String[]::new)).err().contains("judged 3 pairs"));
                com.fasterxml.jackson.databind.node.ArrayNode records = new com.fasterxml.jackson.databind.ObjectMapper()
                        .createArrayNode();
                for (String line : java.nio.file.Files.readAllLines(output)) {
                    com.fasterxml.jackson.databind.node.ObjectNode r = (com.fasterxml.jackson.databind.node.ObjectNode)
                            new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
                    stripTimes(r);
                    records.add(r);
                }
                runs.add(records);
            }
            assertEquals(runs.get(0), runs.get(1), mode.toString());
        }
        CliTest.bad(List.of("judge", "--model", tiny, "--input", input.toString(), "--output",
                shared.resolve("x.jsonl").toString(), "--batch-pairs", "0"), "--batch-pairs");
    }

    /** Drops wall-clock fields, everywhere in a record, and rounds confidences to 1e-4. */
    private static void stripTimes(JsonNode node) {
        if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            o.remove(List.of("timings", "stage_seconds"));
            if (o.has("confidence")) {
                o.put("confidence", Math.round(o.get("confidence").asDouble() * 1e4) / 1e4);
            }
        }
        node.forEach(JudgeCommandTest::stripTimes);
    }

    @Test
    void benchJudgeRunsBothStages() {
        JsonNode b = CliTest.ok("bench-judge", "--model", tiny, "--rollouts", "3", "--analysis-tokens", "4", "--json").json();
        assertEquals(2, b.get("reflections_run").asInt(), "every rollout but the anchor is reflected on");
        assertTrue(b.get("reflect_s").asDouble() > 0 && b.get("rollouts_sequential_s").asDouble() > 0);
    }

    @Test
    void badInputExitsWithTwo() {
        CliTest.bad(List.of("judge", "--model", tiny, "--a", "x", "--b", "y"), "--prompt TEXT or --messages FILE");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "best"), "--mode");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--rollouts", "1"), "--rollouts");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--template-version", "v7"), "v7");
        CliTest.bad(List.of("judge", "--model", tiny, "--messages", "nope.json", "--a", "x", "--b", "y"), "no such file");
        CliTest.bad(List.of("judge", "--model", tiny, "--input", "nope.jsonl"), "--output");
        CliTest.bad(List.of("judge", "--model", tiny, "--input", "nope.jsonl", "--output", shared.resolve("o.jsonl").toString()), "no such file");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x"), "--b TEXT");
    }
}
