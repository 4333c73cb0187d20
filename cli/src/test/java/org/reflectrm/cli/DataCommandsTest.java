package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.train.data.SftDataOptions;
import org.reflectrm.model.train.data.SftDataset;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * data sample on a tiny random checkpoint (records, determinism, batching, resume) and data build
 * on hand-made samples (Pref/Refl records, the mix, stats, SFT data that train sft reads), with
 * every kind of bad input answered by exit code 2 and a message naming the line or option.
 */
class DataCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static String tiny;
    static Path pairs;

    /** The better response of each input pair. */
    static final Map<String, String> BETTER = Map.of("p1", "4", "p2", "Paris", "p3", "good", "jb-1", "b");

    @BeforeAll
    static void makeTinyModel() throws IOException {
        tiny = shared.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "2", "--out", tiny);
        pairs = shared.resolve("pairs.jsonl");
        Files.writeString(pairs, String.join("\n",
                "{\"id\": \"p1\", \"prompt\": \"2+2?\", \"response_a\": \"4\", \"response_b\": \"5\", \"label\": \"A\"}",
                "{\"id\": \"p2\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", "
                        + "\"content\": \"Capital of France?\"}], \"response_a\": \"Rome\", \"response_b\": \"Paris\", "
                        + "\"label\": \"B\", \"subset\": \"geo\"}",
                "{\"id\": \"p3\", \"prompt\": \"q\", \"chosen\": \"good\", \"rejected\": \"bad\"}",
                "",
                "{\"pair_id\": \"jb-1\", \"question\": \"q\", \"response_A\": \"a\", \"response_B\": \"b\", \"label\": \"B>A\"}",
                ""));
    }

    /** data sample on {@link #pairs}: 3 analyses of at most 6 tokens, seed 4, unless {@code more} (option, value, ...) says otherwise. */
    private static List<String> sampleArgs(Path output, String... more) {
        Map<String, String> options = new java.util.LinkedHashMap<>(Map.of("--n", "3", "--max-new-tokens", "6", "--seed", "4"));
        for (int i = 0; i < more.length; i += 2) {
            options.put(more[i], more[i + 1]);
        }
        List<String> a = new ArrayList<>(List.of("data", "sample", "--model", tiny, "--input", pairs.toString(),
                "--output", output.toString()));
        options.forEach((k, v) -> a.addAll(List.of(k, v)));
        return a;
    }

    private static CliTest.Run ok(List<String> args) {
        return CliTest.ok(args.toArray(String[]::new));
    }

    private static List<JsonNode> read(Path jsonl) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(jsonl)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    // ---------------------------------------------------------------- data sample

    @Test
    void sampleWritesEachPairAsShownWithItsScoredAnalyses() throws IOException {
        Path out = shared.resolve("samples-shape.jsonl");
        CliTest.Run run = ok(sampleArgs(out));
        assertTrue(run.err().contains("sampled 4 pairs, 3 analyses each"), run.err());
        List<JsonNode> records = read(out);
        assertEquals(List.of("p1", "p2", "p3", "jb-1"), records.stream().map(r -> r.get("id").asText()).toList());
        for (JsonNode r : records) {
            String id = r.get("id").asText();
            assertTrue(Set.of("AB", "BA").contains(r.get("order").asText()), r.toString());
            String label = r.get("label").asText();
            assertEquals(BETTER.get(id), r.get(label.equals("A") ? "response_1" : "response_2").asText(),
                    id + ": the label names the better response's slot as shown");
            assertEquals("v1", r.get("template").asText());
            assertEquals(3, r.get("samples").size());
            int correct = 0;
            for (JsonNode s : r.get("samples")) {
                for (String field : List.of("analysis", "verdict", "correct", "confidence", "tokens", "text")) {
                    assertTrue(s.has(field), id + " sample lacks " + field + ": " + s);
                }
                assertTrue(s.get("tokens").asInt() >= 1 && s.get("tokens").asInt() <= 6, s.toString());
                Integer slot = Verdict.parse(s.get("text").asText(), Verdict.Kind.RESPONSE).choice();
                assertEquals(slot == null ? null : slot == 1 ? "A" : "B", s.get("verdict").isNull() ? null : s.get("verdict").asText());
                assertEquals(label.equals(s.get("verdict").asText(null)), s.get("correct").asBoolean());
                correct += s.get("correct").asBoolean() ? 1 : 0;
            }
            assertEquals(correct, r.get("n_correct").asInt());
        }
        JsonNode p2 = records.get(1);
        assertEquals(2, p2.get("messages").size(), "the whole conversation is kept");
        assertEquals("system", p2.get("messages").get(0).get("role").asText());
        assertEquals("Capital of France?", p2.get("messages").get(1).get("content").asText());
        assertEquals("geo", p2.get("subset").asText());
        Set<String> shownPair = Set.of(p2.get("response_1").asText(), p2.get("response_2").asText());
        assertEquals(Set.of("Rome", "Paris"), shownPair);
        assertEquals(p2.get("order").asText().equals("AB") ? "Rome" : "Paris", p2.get("response_1").asText());
    }

    @Test
    void samplesDoNotDependOnBatchingAndAResumedRunFinishesTheSameFile() throws IOException {
        Path one = shared.resolve("samples-k1.jsonl");
        Path three = shared.resolve("samples-k3.jsonl");
        ok(sampleArgs(one, "--batch-pairs", "1"));
        ok(sampleArgs(three, "--batch-pairs", "3"));
        List<JsonNode> full = rounded(one);
        assertEquals(full, rounded(three), "--batch-pairs 3 gives the records of --batch-pairs 1");

        // A crash mid-write leaves a torn line: the rerun drops it and samples only what is missing.
        Path resumed = shared.resolve("samples-resumed.jsonl");
        List<String> lines = Files.readAllLines(one);
        Files.write(resumed, List.of(lines.get(0), lines.get(1).substring(0, 30)));
        CliTest.Run run = ok(sampleArgs(resumed, "--batch-pairs", "2"));
        assertTrue(run.err().contains("sampled 3 pairs") && run.err().contains("1 already in"), run.err());
        assertEquals(full, rounded(resumed));
        byte[] before = Files.readAllBytes(resumed);
        run = ok(sampleArgs(resumed));
        assertTrue(run.err().contains("sampled 0 pairs") && run.err().contains("4 already in"), run.err());
        assertArrayEquals(before, Files.readAllBytes(resumed), "a finished file is left alone");

        // Resuming with other settings would make one file of two runs.
        CliTest.bad(sampleArgs(resumed, "--n", "2"), "already holds pair \"p1\" with 3 samples", "--n 2");
        ObjectNode flipped = (ObjectNode) JSON.readTree(lines.get(0));
        flipped.put("order", flipped.get("order").asText().equals("AB") ? "BA" : "AB");
        Path otherSeed = shared.resolve("samples-other-seed.jsonl");
        Files.writeString(otherSeed, JSON.writeValueAsString(flipped) + "\n");
        CliTest.bad(sampleArgs(otherSeed), "another --seed");
        assertEquals(1, Files.readAllLines(otherSeed).size(), "nothing appended");
    }

    /** The records with confidences rounded: batched decoding agrees up to float rounding. */
    private static List<JsonNode> rounded(Path jsonl) throws IOException {
        List<JsonNode> out = read(jsonl);
        for (JsonNode r : out) {
            for (JsonNode s : r.get("samples")) {
                if (!s.get("confidence").isNull()) {
                    ((ObjectNode) s).put("confidence", Math.round(s.get("confidence").asDouble() * 1e4) / 1e4);
                }
            }
        }
        return out;
    }

    @Test
    void sampleRefusesBadInputBeforeSampling() throws IOException {
        Path in = shared.resolve("unlabelled.jsonl");
        Files.writeString(in, "{\"id\": \"x\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\", \"label\": \"A\"}\n"
                + "{\"id\": \"y\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\"}\n");
        Path out = shared.resolve("refused.jsonl");
        List<String> base = List.of("data", "sample", "--model", tiny, "--output", out.toString(), "--max-new-tokens", "4");
        CliTest.bad(with(base, "--input", in.toString()), in + " line 2", "pair \"y\" has no label");
        assertFalse(Files.exists(out), "nothing sampled, nothing written");
        Files.writeString(out, "{\"id\": \"old\"}\n");
        CliTest.bad(with(base, "--input", in.toString()), "line 2");
        assertEquals("{\"id\": \"old\"}\n", Files.readString(out), "an existing output is kept as it was");

        Files.writeString(in, "{\"id\": \"x\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\", \"label\": \"A\"}\n"
                + "{\"id\": \"x\", \"prompt\": \"q2\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
        CliTest.bad(with(base, "--input", in.toString()), "line 2: pair id \"x\" again (first on line 1)");
        Files.writeString(in, "{\"id\": \"x\", \"prompt\": \"q\", \"response_a\": \"a\"}\n");
        CliTest.bad(with(base, "--input", in.toString()), "line 1: has no \"response_b\"");
        CliTest.bad(with(base, "--input", shared.resolve("none.jsonl").toString()), "--input", "no such file");
        CliTest.bad(with(base, "--input", pairs.toString(), "--n", "0"), "--n must be at least 1");
        CliTest.bad(with(base, "--input", pairs.toString(), "--temperature", "0"), "--temperature");
        CliTest.bad(with(base, "--input", pairs.toString(), "--batch-pairs", "0"), "--batch-pairs");
        CliTest.bad(with(base, "--input", pairs.toString(), "--template-version", "v9"), "v9");
        CliTest.bad(List.of("data", "sample", "--model", tiny, "--input", pairs.toString(), "--output",
                shared.resolve("no/such/dir/s.jsonl").toString()), "--output", "no folder");
    }

    private static List<String> with(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(more));
        return a;
    }

    // ---------------------------------------------------------------- data build

    private static final JudgeTemplate V1 = JudgeTemplate.bundled("v1");

    /** A sample choosing {@code slot} (0: no verdict) as data sample writes it. */
    private static ObjectNode sample(int slot, String label, int i) {
        ObjectNode s = JSON.createObjectNode();
        String text = slot == 0 ? "hmm " + i : "<Analysis>reason " + i + "</Analysis><Result>"
                + Verdict.Kind.RESPONSE.sentence(slot) + "</Result>";
        String verdict = slot == 0 ? null : slot == 1 ? "A" : "B";
        s.put("analysis", slot == 0 ? "hmm " + i : "reason " + i);
        s.put("verdict", verdict);
        s.put("correct", label.equals(verdict));
        s.put("confidence", -0.25);
        s.put("tokens", 12);
        s.put("text", text);
        return s;
    }

    /** A SAMPLES line for pair {@code id} whose samples choose {@code slots} (0: unparseable). */
    private static String samplesLine(String id, String label, String template, int... slots) throws IOException {
        ObjectNode r = JSON.createObjectNode();
        r.put("id", id);
        r.put("order", "BA");
        r.put("label", label);
        r.put("template", template);
        ArrayNode list = r.putArray("samples");
        int correct = 0;
        for (int i = 0; i < slots.length; i++) {
            ObjectNode s = sample(slots[i], label, i);
            correct += s.get("correct").asBoolean() ? 1 : 0;
            list.add(s);
        }
        r.put("n_correct", correct);
        r.putArray("messages").addObject().put("role", "user").put("content", "question " + id);
        r.put("response_1", "one " + id);
        r.put("response_2", "two " + id);
        return JSON.writeValueAsString(r);
    }

    /** e1 easy; w1 all wrong; m1..m4 mixed (m4's wrong analysis unparseable, so 3 Refl candidates); label A = slot 1. */
    private static Path handMadeSamples(String name, String template) throws IOException {
        Path p = shared.resolve(name);
        Files.write(p, List.of(samplesLine("e1", "A", template, 1, 1, 1, 1), samplesLine("w1", "B", template, 1, 1, 0, 1),
                samplesLine("m1", "A", template, 1, 2, 2, 0), samplesLine("m2", "B", template, 2, 2, 1, 2),
                samplesLine("m3", "A", template, 2, 1, 0, 0), samplesLine("m4", "B", template, 2, 0, 0, 0)));
        return p;
    }

    @Test
    void buildWritesPrefAndReflRecordsAtTheRatioWithStats() throws IOException {
        Path samples = handMadeSamples("hand.jsonl", "v1");
        Map<String, JsonNode> byId = new java.util.HashMap<>();
        for (JsonNode r : read(samples)) {
            byId.put(r.get("id").asText(), r);
        }
        Path data = shared.resolve("data.jsonl");
        Path stats = shared.resolve("stats.json");
        CliTest.Run run = CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(),
                "--pref-refl-ratio", "3:2", "--stats", stats.toString(), "--seed", "1");
        // 5 Pref candidates (all but e1), 3 Refl (m1..m3): 3:2 keeps min(5, 3*3/2=4) Pref and min(3, 5*2/3=3) Refl.
        List<JsonNode> records = read(data);
        assertEquals(7, records.size());
        Set<String> prefIds = new HashSet<>(), reflIds = new HashSet<>();
        for (JsonNode r : records) {
            String id = r.get("pair_id").asText();
            JsonNode pair = byId.get(id);
            String context = "question " + id, one = "one " + id, two = "two " + id;
            assertEquals("v1", r.get("template_version").asText());
            assertEquals("BA", r.get("order").asText());
            assertEquals("user", r.get("prompt").get(0).get("role").asText());
            String prompt = r.get("prompt").get(0).get("content").asText();
            if (r.get("task").asText().equals("pref")) {
                assertTrue(prefIds.add(id), "no Pref record twice: " + id);
                assertEquals(List.of("task", "prompt", "verdict_kind", "label", "template_version", "pair_id", "order"), fields(r));
                assertEquals("response", r.get("verdict_kind").asText());
                assertEquals(pair.get("label").asText().equals("A") ? 1 : 2, r.get("label").asInt());
                assertEquals(V1.renderResponse(context, one, two), prompt);
            } else {
                assertEquals("refl", r.get("task").asText());
                assertTrue(reflIds.add(id), "no Refl record twice: " + id);
                assertEquals("critique", r.get("verdict_kind").asText());
                JsonNode first = pair.get("samples").get(r.get("samples").get(0).asInt());
                JsonNode second = pair.get("samples").get(r.get("samples").get(1).asInt());
                assertNotEquals(first.get("correct").asBoolean(), second.get("correct").asBoolean());
                assertFalse(first.get("verdict").isNull() || second.get("verdict").isNull(), "both critiques have verdicts");
                assertEquals(first.get("correct").asBoolean() ? 1 : 2, r.get("label").asInt());
                assertEquals(V1.renderAnalysis(context, one, two, critique(first), critique(second)), prompt);
            }
        }
        assertEquals(Set.of("m1", "m2", "m3"), reflIds);
        assertEquals(4, prefIds.size());
        assertFalse(prefIds.contains("e1"), "easy pairs are dropped");

        JsonNode s = JSON.readTree(stats.toFile());
        assertEquals(List.of(6, 1, 1, 4, 4, 3), List.of(s.get("pairs").asInt(), s.get("easy_dropped").asInt(),
                s.get("all_wrong").asInt(), s.get("mixed").asInt(), s.get("pref").asInt(), s.get("refl").asInt()));
        // n_correct: e1 4, w1 0, m1 1, m2 3, m3 1, m4 1.
        assertEquals("[1,3,0,1,1]", s.get("n_correct_histogram").toString());
        assertTrue(run.err().contains("easy (dropped)") && run.err().contains("wrote 7 records to " + data), run.err());
        assertEquals("", run.out());

        byte[] first = Files.readAllBytes(data);
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--pref-refl-ratio", "3:2",
                "--seed", "1");
        assertArrayEquals(first, Files.readAllBytes(data), "same samples and seed, same bytes");
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--pref-refl-ratio", "3:2",
                "--seed", "2");
        assertNotEquals(new String(first), Files.readString(data), "another seed, another order");

        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--pref-only");
        List<JsonNode> prefOnly = read(data);
        assertEquals(5, prefOnly.size(), "every non-easy pair");
        assertTrue(prefOnly.stream().allMatch(r -> r.get("task").asText().equals("pref")));
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString());
        assertEquals(5 + 1, read(data).size(), "the default 4:1: 5 Pref allow 1 Refl");
    }

    private static String critique(JsonNode sample) {
        return org.reflectrm.model.judge.JudgePrompts.critique(Verdict.parse(sample.get("text").asText(), Verdict.Kind.RESPONSE));
    }

    private static List<String> fields(JsonNode o) {
        List<String> out = new ArrayList<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void sftDataIsWhatTrainSftReads() throws IOException {
        Path samples = handMadeSamples("hand-sft.jsonl", "v1");
        Path data = shared.resolve("sft.jsonl");
        Path stats = shared.resolve("sft-stats.json");
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--format", "sft",
                "--stats", stats.toString());
        List<JsonNode> records = read(data);
        // The correct analyses of the kept pairs: w1 none, m1 one, m2 three, m3 one, m4 one (e1 is dropped).
        assertEquals(6, records.size());
        assertEquals(6, JSON.readTree(stats.toFile()).get("pref").asInt());
        for (JsonNode r : records) {
            assertEquals("pref", r.get("task").asText());
            assertNotEquals("e1", r.get("pair_id").asText());
            assertEquals("assistant", r.get("messages").get(1).get("role").asText());
            assertTrue(r.get("messages").get(1).get("content").asText().contains("<Result>"), r.toString());
        }
        Tokenizer tokenizer = TokenizerFiles.load(Path.of(tiny), "--model");
        SftDataset dataset = SftDataset.load(data, tokenizer, TokenizerFiles.chatTemplate(tokenizer, Path.of(tiny)),
                new SftDataOptions(4096, SftDataOptions.OverLong.REJECT, true));
        assertEquals(6, dataset.examples().size(), "every record is a whole SFT example: " + dataset.stats());
        CliTest.Run run = CliTest.ok("train", "sft", "--model", tiny, "--data", data.toString(), "--out",
                shared.resolve("sft-out").toString(), "--steps", "1", "--batch", "2", "--max-len", "1024", "--strict");
        assertTrue(Files.exists(shared.resolve("sft-out").resolve("metrics.jsonl")), run.err());
    }

    @Test
    void buildWithOwnTemplates() throws IOException {
        Path dir = shared.resolve("my-templates");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("version.txt"), "mine-1\n");
        Files.writeString(dir.resolve("response.txt"), "Which? {context} | 1: {response_1} | 2: {response_2}");
        Files.writeString(dir.resolve("analysis.txt"),
                "Critiques of {context} / {response_1} / {response_2}: {critique_1} vs {critique_2}");
        Path samples = handMadeSamples("hand-mine.jsonl", "mine-1");
        Path data = shared.resolve("data-mine.jsonl");
        CliTest.bad(List.of("data", "build", "--samples", samples.toString(), "--out", data.toString()),
                "mine-1", "not bundled", "--template-dir");
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--template-dir", dir.toString(),
                "--pref-only");
        for (JsonNode r : read(data)) {
            String id = r.get("pair_id").asText();
            assertEquals("mine-1", r.get("template_version").asText());
            assertEquals("Which? question " + id + " | 1: one " + id + " | 2: two " + id,
                    r.get("prompt").get(0).get("content").asText());
        }
        CliTest.bad(List.of("data", "build", "--samples", handMadeSamples("hand-v1.jsonl", "v1").toString(), "--out",
                data.toString(), "--template-dir", dir.toString()), "holds template version mine-1", "sampled with v1");

        // data sample records the version of the templates it used.
        Path out = shared.resolve("samples-mine.jsonl");
        ok(sampleArgs(out, "--template-dir", dir.toString(), "--n", "1"));
        assertTrue(read(out).stream().allMatch(r -> r.get("template").asText().equals("mine-1")));
    }

    @Test
    void sampledByTheTinyModelThenBuilt() throws IOException {
        Path samples = shared.resolve("samples-e2e.jsonl");
        ok(sampleArgs(samples));
        // Six tokens of a random model never spell a verdict sentence: every pair is all wrong.
        assertTrue(read(samples).stream().allMatch(r -> r.get("n_correct").asInt() == 0));
        Path data = shared.resolve("data-e2e.jsonl");
        Path stats = shared.resolve("stats-e2e.json");
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString(), "--pref-only",
                "--stats", stats.toString());
        assertEquals(4, read(data).size(), "all-wrong pairs are kept as Pref records");
        assertEquals(4, JSON.readTree(stats.toFile()).get("all_wrong").asInt());
        CliTest.bad(List.of("data", "build", "--samples", samples.toString(), "--out", data.toString()),
                samples + ": nothing to reflect on", "--pref-only");
    }

    @Test
    void buildRefusesBadInputAndKeepsTheOldFile() throws IOException {
        Path samples = handMadeSamples("hand-bad.jsonl", "v1");
        Path data = shared.resolve("kept").resolve("data.jsonl");
        Files.createDirectories(data.getParent());
        Files.writeString(data, "old\n");
        List<String> base = List.of("data", "build", "--out", data.toString());
        Path unlabelled = shared.resolve("unlabelled-samples.jsonl");
        List<String> lines = Files.readAllLines(samples);
        ObjectNode noLabel = (ObjectNode) JSON.readTree(lines.get(1));
        noLabel.remove("label");
        Files.write(unlabelled, List.of(lines.get(0), JSON.writeValueAsString(noLabel)));
        CliTest.bad(with(base, "--samples", unlabelled.toString()), unlabelled + " line 2", "has no \"label\"");
        CliTest.bad(with(base, "--samples", samples.toString(), "--pref-refl-ratio", "4:0"), "--pref-refl-ratio 4:0", "--pref-only");
        CliTest.bad(with(base, "--samples", samples.toString(), "--pref-refl-ratio", "four"), "--pref-refl-ratio 'four'");
        CliTest.bad(with(base, "--samples", samples.toString(), "--pref-refl-ratio", "1:9"), "--pref-refl-ratio 1:9", "impossible");
        CliTest.bad(with(base, "--samples", samples.toString(), "--pref-only", "--pref-refl-ratio", "4:1"), "mutually exclusive");
        CliTest.bad(with(base, "--samples", samples.toString(), "--format", "sft", "--pref-refl-ratio", "4:1"), "does not apply");
        CliTest.bad(with(base, "--samples", samples.toString(), "--format", "dpo"), "--format must be grpo or sft");
        CliTest.bad(with(base, "--samples", shared.resolve("none.jsonl").toString()), "--samples", "no such file");
        CliTest.bad(List.of("data", "build", "--samples", samples.toString(), "--out", samples.toString()), "--out must differ");
        Path noMixed = shared.resolve("no-mixed.jsonl");
        Files.write(noMixed, List.of(lines.get(0), lines.get(1)));
        CliTest.bad(with(base, "--samples", noMixed.toString()), noMixed + ": nothing to reflect on");
        assertEquals("old\n", Files.readString(data), "a failed build leaves the old file");
        try (Stream<Path> files = Files.list(data.getParent())) {
            assertEquals(List.of(data), files.toList(), "and no temporary file");
        }
    }
}
