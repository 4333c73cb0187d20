package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** grad, train sft and merge-lora through the command line: contracts and bad input. */
class TrainCommandsTest {
    private static final Path FIXTURES = Path.of("../model/src/test/resources/fixtures");
    private static final Path DATA = Path.of("../model/src/test/resources/sft/data.jsonl");

    @TempDir
    static Path shared;
    static String tiny;

    @BeforeAll
    static void makeTinyModel() {
        tiny = shared.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "5", "--out", tiny);
    }

    private static String join(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ",").append(ids[i]);
        }
        return sb.toString();
    }

    @Test
    void gradPrintsTheContractAndMatchesPytorch() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(FIXTURES.resolve("grad/full.json").toFile()).get("cases");
        for (JsonNode c : cases) {
            if (c.get("sequences").size() != 1) {
                continue;
            }
            int[] ids = new int[c.get("sequences").get(0).size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("sequences").get(0).get(i).asInt();
            }
            int[] mask = new int[ids.length - 1];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = c.get("masks").get(0).get(i).asInt();
            }
            JsonNode got = CliTest.ok("grad", "--model", FIXTURES.resolve(c.get("model").asText()).toString(),
                    "--tokens", join(ids), "--loss-mask", join(mask), "--json").json();
            double loss = c.get("loss").asDouble();
            assertEquals(loss, got.get("loss").asDouble(), 1e-5 * loss);
            assertEquals(c.get("grad_norms").size(), got.get("grads").size());
            c.get("grad_norms").fields().forEachRemaining(e -> {
                double want = e.getValue().asDouble();
                assertEquals(want, got.get("grads").get(e.getKey()).get("norm").asDouble(), 1e-3 * want, e.getKey());
            });
            // The same mask with a trailing 0 for the last token is the same request.
            JsonNode padded = CliTest.ok("grad", "--model", FIXTURES.resolve(c.get("model").asText()).toString(),
                    "--tokens", join(ids), "--loss-mask", join(mask) + ",0", "--json").json();
            assertEquals(got.get("loss").asDouble(), padded.get("loss").asDouble());
        }
    }

    @Test
    void gradRejectsBadMasks() {
        String model = FIXTURES.resolve("tiny-f32-untied").toString();
        CliTest.bad(List.of("grad", "--model", model, "--tokens", "1,2,3", "--loss-mask", "1"), "--loss-mask has 1 entries for 3 tokens");
        CliTest.bad(List.of("grad", "--model", model, "--tokens", "1,2,3", "--loss-mask", "1,1,1"), "must be 0");
        CliTest.bad(List.of("grad", "--model", model, "--tokens", "1,2,3", "--loss-mask", "0,0"), "counts no position");
        CliTest.bad(List.of("grad", "--model", model, "--tokens", "1,2,3", "--loss-mask", "1,x"), "entry 1 is 'x'");
        CliTest.bad(List.of("grad", "--model", model, "--tokens", "1"), "at least 2 tokens");
    }

    /** A run killed before its first checkpoint leaves metrics.jsonl alone; the new run replaces that curve. */
    @Test
    void aFreshRunReplacesTheMetricsOfAKilledOne() throws IOException {
        Path out = shared.resolve("killed-early");
        Files.createDirectories(out.resolve("trainer_state"));
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\":1,\"loss\":9.9}\n{\"step\":2,\"loss\":9.8}\n{\"st");
        // killed while writing its first checkpoint: the parameters, but not yet state.json (the commit point)
        Files.writeString(out.resolve("trainer_state/params-00000003.safetensors"), "partial");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out.toString(),
                "--steps", "2", "--batch", "2", "--resume"), "holds no saved run", "start without --resume");
        CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out.toString(), "--steps", "2",
                "--batch", "2");
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(2, lines.size(), String.join("\n", lines));
        assertTrue(lines.stream().noneMatch(l -> l.contains("9.9") || l.contains("9.8")), String.join("\n", lines));
        assertFalse(Files.exists(out.resolve("trainer_state/params-00000003.safetensors")), "the torn checkpoint is replaced");
    }

    @Test
    void trainSftFullThenLoraThenMerge() throws IOException {
        Path full = shared.resolve("full");
        CliTest.Run r = CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", full.toString(),
                "--steps", "2", "--batch", "2", "--lr", "1e-3", "--eval-fraction", "0.25", "--json");
        assertEquals(2, r.json().get("steps").asInt());
        assertTrue(r.json().get("eval_loss").isNumber());
        assertTrue(r.err().contains("8 examples"), r.err());
        assertTrue(Files.isRegularFile(full.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(full.resolve("tokenizer.json")));
        // A finished run is not overwritten by accident.
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", full.toString(), "--steps", "2"),
                "holds a training run", "--resume");

        Path lora = shared.resolve("lora");
        CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", lora.toString(),
                "--steps", "2", "--lora-rank", "2", "--lora-targets", "q_proj,v_proj");
        String adapterConfig = Files.readString(lora.resolve("adapter_config.json"));
        assertTrue(adapterConfig.contains("\"q_proj\"") && !adapterConfig.contains("\"down_proj\""), adapterConfig);
        Path merged = shared.resolve("merged");
        CliTest.ok("merge-lora", "--model", tiny, "--adapter", lora.toString(), "--out", merged.toString());
        CliTest.ok("logits", "--model", merged.toString(), "--tokens", "1,2,3", "--json");
        CliTest.bad(List.of("merge-lora", "--model", tiny, "--adapter", lora.toString(), "--out", tiny), "--out must differ");
    }

    @Test
    void malformedDataLinesAreReportedByLineNumber() throws IOException {
        Path data = shared.resolve("bad.jsonl");
        List<String> lines = new ArrayList<>(Files.readAllLines(DATA));
        lines.add(2, "{\"messages\": [{\"role\": \"user\"}]}");
        Files.write(data, lines);
        // Without --strict the model is trained on the good lines and saved, and the exit code is 2 (SkippedLines).
        CliTest.Run lenient = CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", data.toString(),
                "--out", shared.resolve("lenient").toString(), "--steps", "1"), "line 3", "1 malformed",
                "1 of " + lines.size() + " lines skipped as bad", "trained on the others");
        assertTrue(Files.exists(shared.resolve("lenient").resolve("model.safetensors")), lenient.err());
        Path strictOut = shared.resolve("strict");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", data.toString(), "--out", strictOut.toString(),
                "--steps", "1", "--strict"), "line 3");
        assertFalse(Files.exists(strictOut.resolve("model.safetensors")));
    }

    @Test
    void badTrainingFlagsExitWithTwo() {
        String out = shared.resolve("never").toString();
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", "missing.jsonl", "--out", out), "no such file");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--lr", "-1"), "--lr must be positive");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--lora-alpha", "4"), "need --lora-rank");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--lora-rank", "2",
                "--lora-targets", "qkv"), "unknown LoRA target module 'qkv'");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--packing", "zip"), "--packing");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--optimizer", "adam"), "--optimizer");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", tiny), "--out must differ");
        CliTest.bad(List.of("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out, "--resume"), "holds no saved run");
    }

    @Test
    void epochsCountEveryPassesMicroBatches() {
        // 8 examples, 3 per micro-batch: 3 micro-batches per pass; 2 passes with 2 per step = 3 steps.
        CliTest.Run r = CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(),
                "--out", shared.resolve("epochs").toString(), "--epochs", "2", "--batch", "3", "--grad-accum", "2", "--json");
        assertEquals(3, r.json().get("total_steps").asInt());
        CliTest.Run half = CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(),
                "--out", shared.resolve("half-epoch").toString(), "--epochs", "0.5", "--batch", "2", "--json");
        assertEquals(2, half.json().get("total_steps").asInt());
    }

    @Test
    void sgdWithMomentumTrainsAndLowersTheLoss() throws IOException {
        Path out = shared.resolve("sgd");
        CliTest.Run r = CliTest.ok("train", "sft", "--model", tiny, "--data", DATA.toString(), "--out", out.toString(),
                "--steps", "6", "--batch", "8", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.5", "--schedule", "constant");
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        double first = new ObjectMapper().readTree(lines.getFirst()).get("loss").asDouble();
        double last = new ObjectMapper().readTree(lines.getLast()).get("loss").asDouble();
        assertTrue(last < first, "SGD loss " + first + " -> " + last + "\n" + r.err());
    }
}
