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
 * The ReflectRM training chain from the command line, on a tiny judge over the toy tokenizer
 * that SFT taught the output format (its verdicts at chance): {@code data sample}, {@code data
 * build} (Pref and Refl), {@code train grpo}, and {@code judge} on the result; resume and bad input.
 */
class GrpoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path shared;
    static String judge;
    static Path data;

    @BeforeAll
    static void setUp() throws IOException {
        // A judge that writes the format with its verdicts at chance.
        judge = ToyJudge.train(shared, "judge", 11, 64, "Both answer.", 600, new Random(5), (i, rnd) -> 1 + rnd.nextInt(2));
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            pairs.add(JSON.createObjectNode().put("id", "p" + i).put("prompt", "Is " + i + " a number?")
                    .put("chosen", "yes").put("rejected", "no").toString());
        }
        Path pairsFile = shared.resolve("pairs.jsonl");
        Files.write(pairsFile, pairs);
        Path samples = shared.resolve("samples.jsonl");
        CliTest.ok("data", "sample", "--model", judge, "--input", pairsFile.toString(), "--output", samples.toString(),
                "--n", "4", "--max-new-tokens", "40", "--seed", "3");
        data = shared.resolve("data.jsonl");
        CliTest.ok("data", "build", "--samples", samples.toString(), "--out", data.toString());
    }

    /** A small run's arguments; {@code more} adds options or overrides these defaults (flags take an empty value). */
    private static List<String> grpo(Path out, String... more) {
        java.util.Map<String, String> options = new java.util.LinkedHashMap<>(java.util.Map.of("--group", "4",
                "--prompts-per-step", "4", "--lr", "2e-3", "--max-new-tokens", "40"));
        for (int i = 0; i < more.length; i += 2) {
            options.put(more[i], i + 1 < more.length ? more[i + 1] : "");
        }
        List<String> a = new ArrayList<>(List.of("train", "grpo", "--model", judge, "--data", data.toString(), "--out",
                out.toString()));
        options.forEach((k, v) -> {
            a.add(k);
            if (!v.isEmpty()) {
                a.add(v);
            }
        });
        return a;
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void sampledBuiltTrainedAndJudged() throws IOException {
        List<JsonNode> records = lines(data);
        assertTrue(records.stream().anyMatch(r -> r.get("task").asText().equals("refl")), "the chance judge gives mixed pairs");
        Path out = shared.resolve("grpo");
        Path rollouts = shared.resolve("rollouts.jsonl");
        CliTest.Run run = CliTest.ok(grpo(out, "--steps", "4", "--beta", "0.04", "--log-rollouts", rollouts.toString(),
                "--json", "").toArray(String[]::new));
        assertTrue(run.err().contains("trained 4/4 steps (full)"), run.err());
        assertEquals(4, JSON.readTree(run.out()).get("steps").asInt());
        List<JsonNode> metrics = lines(out.resolve("metrics.jsonl"));
        assertEquals(4, metrics.size());
        for (String field : List.of("step", "loss", "grad_norm", "reward_mean", "reward_mean_pref", "reward_mean_refl",
                "parse_rate", "kl", "clip_fraction", "completion_len_mean", "zero_std_groups", "gen_s", "train_s",
                "gen_tokens_per_s", "train_tokens_per_s")) {
            assertTrue(metrics.getLast().has(field), field + " in " + metrics.getLast());
        }
        double parsed = metrics.stream().mapToDouble(m -> m.get("parse_rate").asDouble()).average().orElseThrow();
        assertTrue(parsed > 0.05, "the SFT judge writes parseable verdicts: " + parsed);
        for (JsonNode m : metrics) {
            assertTrue(m.get("reward_mean").asDouble() <= m.get("parse_rate").asDouble(), "a reward needs a verdict: " + m);
        }
        assertEquals(4 * 16, lines(rollouts).size());
        assertEquals("v1", JSON.readTree(out.resolve("reflectrm.json").toFile()).get("template_version").asText());
        // The trained judge loads and judges; judged with another template version it is warned about.
        CliTest.Run judged = CliTest.ok("judge", "--model", out.toString(), "--prompt", "Is 7 a number?", "--a", "yes",
                "--b", "no", "--mode", "greedy", "--max-new-tokens", "40", "--json");
        assertEquals("Both answer.", JSON.readTree(judged.out()).get("rollouts").get(0).get("analysis").asText(),
                "the trained judge writes the format it learned: " + judged.out());
        assertTrue(!judged.err().contains("warning"), judged.err());
        Files.writeString(out.resolve("reflectrm.json"), "{\"method\": \"grpo\", \"template_version\": \"v0\"}\n");
        CliTest.Run warned = CliTest.ok("judge", "--model", out.toString(), "--prompt", "q", "--a", "x", "--b", "y",
                "--mode", "greedy", "--max-new-tokens", "4");
        assertTrue(warned.err().contains("trained with judge template v0 but is judged with v1"), warned.err());
    }

    @Test
    void anInterruptedRunResumes() throws IOException {
        Path whole = shared.resolve("whole"), resumed = shared.resolve("resumed");
        CliTest.ok(grpo(whole, "--steps", "3", "--lora-rank", "4").toArray(String[]::new));
        CliTest.ok(grpo(resumed, "--steps", "3", "--lora-rank", "4", "--stop-after", "1").toArray(String[]::new));
        CliTest.bad(grpo(resumed, "--steps", "3", "--lora-rank", "4"), "holds a training run", "--resume");
        CliTest.ok(grpo(resumed, "--steps", "3", "--lora-rank", "4", "--resume", "").toArray(String[]::new));
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(whole.resolve("adapter_model.safetensors")),
                Files.readAllBytes(resumed.resolve("adapter_model.safetensors"))), "LoRA adapters differ after resume");
        assertEquals(3, lines(resumed.resolve("metrics.jsonl")).size());
    }

    @Test
    void badInputIsRefusedWithItsPlace() throws IOException {
        Path out = shared.resolve("bad");
        Path broken = shared.resolve("broken.jsonl");
        List<String> good = Files.readAllLines(data);
        Files.write(broken, List.of(good.get(0), "{\"task\": \"pref\", \"prompt\": []", good.get(1)));
        CliTest.bad(List.of("train", "grpo", "--model", judge, "--data", broken.toString(), "--out", out.toString()),
                broken + " line 2", "not valid JSON");
        Path unlabelled = shared.resolve("unlabelled.jsonl");
        Files.write(unlabelled, List.of(good.get(0).replace("\"label\":", "\"labels\":")));
        CliTest.bad(List.of("train", "grpo", "--model", judge, "--data", unlabelled.toString(), "--out", out.toString()),
                unlabelled + " line 1", "\"label\" must be 1 or 2");
        CliTest.bad(grpo(out, "--steps", "3", "--num-iterations", "2"), "--steps must be a positive multiple of --num-iterations");
        CliTest.bad(grpo(out, "--loss-type", "ppo"), "--loss-type must be dapo, grpo, dr_grpo or bnpo");
        CliTest.bad(grpo(out, "--scale-rewards", "all"), "--scale-rewards");
        CliTest.bad(grpo(out, "--group", "1"), "--group must be at least 2");
        CliTest.bad(grpo(out, "--resume", ""), "holds no saved run");
        CliTest.bad(grpo(out, "--device", "tpu"), "unknown device 'tpu'");
        CliTest.bad(List.of("train", "grpo", "--model", judge, "--data", shared.resolve("none.jsonl").toString(), "--out",
                out.toString()), "no such file");
        assertTrue(!Files.exists(out.resolve("trainer_state")), "nothing was trained");
    }
}
