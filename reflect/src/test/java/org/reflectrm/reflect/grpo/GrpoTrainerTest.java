package org.reflectrm.reflect.grpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.opencl.OpenClDevice;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.RandomCheckpoint;
import org.reflectrm.model.train.SftTrainer;
import org.reflectrm.model.train.TrainOptions;
import org.reflectrm.model.train.TrainingDivergedException;
import org.reflectrm.model.train.TrainingListener;
import org.reflectrm.model.train.data.SftBatcher;
import org.reflectrm.model.train.data.SftEncoder;
import org.reflectrm.model.train.data.SftExample;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * GRPO end to end on a tiny Qwen3 that first learns the judge's output format by SFT, with
 * verdicts at random: GRPO with the verdict reward then teaches it a toy rule (the better
 * response is the one that says "yes"), resumes bit for bit, and stops on a diverging loss.
 */
class GrpoTrainerTest {
    @TempDir
    static Path shared;
    static Path judge;
    static List<GrpoPrompt> data;
    static final Path TOY_TOKENIZER = Path.of("src/test/resources/toy-tokenizer/tokenizer.json");
    static final Tokenizer TOKENIZER = Tokenizer.load(TOY_TOKENIZER);
    static final Qwen3ChatTemplate CHAT = Qwen3ChatTemplate.current();
    static final JudgeTemplate TEMPLATE = JudgeTemplate.bundled(JudgeTemplate.DEFAULT_VERSION);

    @BeforeAll
    static void setUp() throws IOException {
        Path random = shared.resolve("random");
        RandomCheckpoint.write(toyConfig(), DType.F32, 11, random);
        Files.copy(TOY_TOKENIZER, random.resolve("tokenizer.json"));
        // SFT on the format: a short analysis and a verdict drawn at random, so the judge parses but knows nothing.
        Random rnd = new Random(5);
        SftEncoder encoder = new SftEncoder(TOKENIZER, CHAT);
        List<SftExample> sft = new ArrayList<>();
        data = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            boolean yesFirst = rnd.nextBoolean();
            String prompt = TEMPLATE.renderResponse(JudgeTemplate.context(List.of(ChatMessage.user("Is " + i + " a number?"))),
                    yesFirst ? "yes" : "no", yesFirst ? "no" : "yes");
            int said = 1 + rnd.nextInt(2);
            String answer = "<Analysis>Both answer.</Analysis>\n<Result>" + Verdict.Kind.RESPONSE.sentence(said) + "</Result>";
            sft.add(encoder.encode("sft-" + i, List.of(ChatMessage.user(prompt), ChatMessage.assistant(answer, ""))));
            data.add(new GrpoPrompt("pref", List.of(ChatMessage.user(prompt)), Verdict.Kind.RESPONSE, yesFirst ? 1 : 2,
                    TEMPLATE.version()));
        }
        judge = shared.resolve("judge");
        TrainOptions o = new TrainOptions(600, 1, 1e-2, 8, 1, 256, SftBatcher.Mode.PAD, "cosine", 0, 0, 0.9, 0.999, 1e-8,
                1.0, 1, 0, 0, null, null, 0, false, "adamw", 0);
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(random)) {
            System.out.println("SFT loss " + new SftTrainer(random, model, backend, o, judge, TrainingListener.NONE).run(sft, List.of(), false).lastLoss());
        }
    }

    /** A tiny Qwen3 over the 506-token toy tokenizer (see make_toy_tokenizer.py): eos is <|im_end|>. */
    static Qwen3Config toyConfig() {
        return new Qwen3Config(List.of("Qwen3ForCausalLM"), "qwen3", 512, 64, 192, 2, 4, 2, 32, "silu", 1024, 1e-6,
                1_000_000, true, false, 0.0, false, null, 2, 0, List.of(2), null, 0.02, true, "float32", "4.51.0");
    }

    private static TrainOptions train(double lr) {
        return new TrainOptions(1, 1, lr, 1, 1, 2, SftBatcher.Mode.PAD, "constant", 0, 0, 0.9, 0.999, 1e-8, 1.0, 7, 0, 0,
                null, null, 0, false, "adamw", 0);
    }

    private static GrpoOptions grpo(long generations, double beta, long stopAfter, Path rollouts) {
        return new GrpoOptions(8, 4, generations, 0, 1, 40,
                new GrpoLoss.Settings(GrpoLoss.Type.DAPO, 0.2, 0.28, beta, true, 1.0, 40),
                Advantages.Scale.GROUP, 0, 16, 0, stopAfter, rollouts);
    }

    private static GrpoTrainer.Result run(TrainOptions t, GrpoOptions g, Path out, boolean resume) throws IOException {
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(judge)) {
            return new GrpoTrainer(judge, model, backend, TOKENIZER, CHAT, t, g, out, new GrpoTrainer.Listener() {
            }).run(data, resume);
        }
    }

    /**
     * GRPO on OpenCL (PoCL in CI), the one model definition on the device: rollouts, reference
     * log-probabilities (β > 0) and updates there give the CPU's run, step by step.
     */
    @Test
    void grpoOnTheGpuFollowsTheCpu() throws IOException {
        boolean required = "1".equals(System.getenv("REFLECTRM_REQUIRE_OPENCL"));
        org.junit.jupiter.api.Assumptions.assumeTrue(required || !OpenClDevice.list().isEmpty(), "no OpenCL device");
        Path cpuOut = shared.resolve("grpo-cpu"), gpuOut = shared.resolve("grpo-opencl");
        run(train(2e-3), grpo(3, 0.04, 0, null), cpuOut, false);
        try (CpuBackend backend = new CpuBackend(2); Device device = OpenClDevice.open(false);
             Qwen3Model model = Qwen3Model.load(judge)) {
            new GrpoTrainer(judge, model, device, TOKENIZER, CHAT, train(2e-3), grpo(3, 0.04, 0, null), gpuOut,
                    new GrpoTrainer.Listener() {
                    }).run(data, false);
        }
        List<JsonNode> cpu = lines(cpuOut.resolve("metrics.jsonl")), gpu = lines(gpuOut.resolve("metrics.jsonl"));
        assertEquals(cpu.size(), gpu.size());
        for (int i = 0; i < cpu.size(); i++) {
            // The same rollouts (sampled from the same streams): the same rewards and parse rates.
            for (String field : new String[] {"reward_mean", "parse_rate"}) {
                assertEquals(cpu.get(i).get(field).asDouble(), gpu.get(i).get(field).asDouble(), "step " + i + " " + field);
            }
            for (String field : new String[] {"loss", "kl"}) {
                double want = cpu.get(i).get(field).asDouble();
                assertEquals(want, gpu.get(i).get(field).asDouble(), 1e-4 * Math.abs(want) + 1e-6, "step " + i + " " + field);
            }
        }
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(new ObjectMapper().readTree(l));
        }
        return out;
    }

    private static double mean(List<JsonNode> metrics, int from, int to, String field) {
        return metrics.subList(from, to).stream().mapToDouble(m -> m.get(field).asDouble()).average().orElseThrow();
    }

    @Test
    void grpoRaisesTheRewardOfALearnableRule() throws IOException {
        Path out = shared.resolve("learn");
        GrpoTrainer.Result r = run(train(2e-3), grpo(16, 0, 0, null), out, false);
        assertEquals(16, r.step());
        List<JsonNode> metrics = lines(out.resolve("metrics.jsonl"));
        assertEquals(16, metrics.size());
        // Step 1's rollouts come before any update: the SFT judge writes parseable verdicts, at chance.
        double parsedFirst = metrics.getFirst().get("parse_rate").asDouble();
        double rewardFirst = metrics.getFirst().get("reward_mean").asDouble();
        assertTrue(parsedFirst > 0.2, "parse rate " + parsedFirst);
        assertTrue(rewardFirst / parsedFirst < 0.7, "accuracy of parsed verdicts before GRPO " + rewardFirst / parsedFirst);
        // After GRPO on the verdict reward: more of them parse, and those that do follow the rule.
        double rewardLast = mean(metrics, 12, 16, "reward_mean");
        double parsedLast = mean(metrics, 12, 16, "parse_rate");
        assertTrue(rewardLast > rewardFirst + 0.3, "reward " + rewardFirst + " -> " + rewardLast);
        assertTrue(rewardLast / parsedLast > 0.9, "accuracy of parsed verdicts after GRPO " + rewardLast / parsedLast);
        for (String field : List.of("loss", "grad_norm", "reward_mean_pref", "clip_fraction", "completion_len_mean",
                "zero_std_groups", "gen_s", "train_s", "gen_tokens_per_s", "train_tokens_per_s")) {
            assertTrue(metrics.getLast().get(field).isNumber(), field + " in " + metrics.getLast());
        }
        assertTrue(metrics.getLast().get("reward_mean_refl").isNull(), "no Refl prompts: no Refl reward");
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertTrue(Files.readString(out.resolve(GrpoTrainer.MARKER)).contains(TEMPLATE.version()));
    }

    @Test
    void aResumedRunIsTheUninterruptedRunBitForBit() throws IOException {
        Path whole = shared.resolve("whole"), resumed = shared.resolve("resumed");
        run(train(2e-3), grpo(4, 0.04, 0, whole.resolve("rollouts.jsonl")), whole, false);
        GrpoTrainer.Result first = run(train(2e-3), grpo(4, 0.04, 2, resumed.resolve("rollouts.jsonl")), resumed, false);
        assertTrue(first.stoppedEarly());
        // A crash after step 2's checkpoint but before step 3's: its lines are in the logs, its weights are not.
        Files.writeString(resumed.resolve("metrics.jsonl"), "{\"step\":3,\"loss\":1}\n{\"step\":4,\"lo",
                java.nio.file.StandardOpenOption.APPEND);
        GrpoTrainer.Result rest = run(train(2e-3), grpo(4, 0.04, 0, resumed.resolve("rollouts.jsonl")), resumed, true);
        assertEquals(4, rest.step());
        assertArrayEquals(Files.readAllBytes(whole.resolve("model.safetensors")),
                Files.readAllBytes(resumed.resolve("model.safetensors")));
        List<JsonNode> a = lines(whole.resolve("metrics.jsonl")), b = lines(resumed.resolve("metrics.jsonl"));
        assertEquals(4, b.size());
        for (int i = 0; i < 4; i++) {
            for (String field : List.of("step", "loss", "grad_norm", "reward_mean", "kl", "clip_fraction")) {
                assertEquals(a.get(i).get(field), b.get(i).get(field), field + " of step " + (i + 1));
            }
        }
        assertTrue(b.get(3).get("kl").asDouble() > 0, "beta > 0 logs the KL to the starting model");
        List<JsonNode> ra = lines(whole.resolve("rollouts.jsonl")), rb = lines(resumed.resolve("rollouts.jsonl"));
        assertEquals(4 * 32, ra.size());
        assertEquals(ra, rb);
        JsonNode one = ra.get(40);
        assertEquals(2, one.get("step").asInt());
        assertEquals(one.get("completion_ids").size(), one.get("old_logprobs").size());
        int lastToken = one.get("completion_ids").get(one.get("completion_ids").size() - 1).asInt();
        assertTrue(lastToken == 2 || one.get("completion_ids").size() == 40, "a completion ends with <|im_end|> or at the limit");
    }

    @Test
    void resumeRefusesOtherSettings() throws IOException {
        Path out = shared.resolve("settings");
        run(train(2e-3), grpo(2, 0, 1, null), out, false);
        BadInputException e = assertThrows(BadInputException.class, () -> run(train(2e-3), grpo(2, 0.1, 0, null), out, true));
        assertTrue(e.getMessage().contains("beta was 0.0, now 0.1"), e.getMessage());
    }

    @Test
    void aNonFiniteLossStopsBeforeTheUpdateAndKeepsTheLastCheckpoint() throws IOException {
        Path out = shared.resolve("nan");
        run(train(2e-3), grpo(2, 0, 1, null), out, false);
        byte[] saved = Files.readAllBytes(out.resolve("model.safetensors"));
        // A corrupt old log-probability (NaN) makes the loss NaN, as it does in TRL.
        GrpoLoss.Settings s = new GrpoLoss.Settings(GrpoLoss.Type.DAPO, 0.2, 0.28, 0, true, 1.0, 40);
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(judge);
             org.reflectrm.model.train.TrainingSession session = new org.reflectrm.model.train.TrainingSession(judge, model,
                     backend, train(2e-3), new GrpoTrainer(judge, model, backend, TOKENIZER, CHAT, train(2e-3), grpo(2, 0, 1, null), out,
                     null).trajectory(), out, TrainingListener.NONE)) {
            assertEquals(1, session.resume());
            GrpoLoss loss = new GrpoLoss(s);
            List<GrpoLoss.Sample> batch = List.of(new GrpoLoss.Sample(new int[] {1, 5, 9}, new int[] {7, 2}, 1.0,
                    new double[] {Double.NaN, -1}, null));
            session.zeroGrad();
            double value = loss.lossAndGradients(session.model(), session.scratch(), batch, loss.tokenWeights(batch)).loss();
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> session.update(2, value, 1e-3));
            assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("the last checkpoint"), e.getMessage());
        }
        assertArrayEquals(saved, Files.readAllBytes(out.resolve("model.safetensors")));
    }
}
