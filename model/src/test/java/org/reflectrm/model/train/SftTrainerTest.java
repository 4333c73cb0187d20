package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.data.SftExample;
import org.reflectrm.tensor.ScratchAllocator;

/** The SFT loop end to end on a tiny random Qwen3 with the real tokenizer. */
class SftTrainerTest {
    @TempDir
    static Path shared;
    static Path base;
    static List<SftExample> examples;

    @BeforeAll
    static void setUp() throws Exception {
        base = SftFixture.tinyModel(shared.resolve("tiny"));
        examples = SftFixture.examples();
    }

    private static TrainOptions options(long steps, double lr) {
        return SftFixture.options(steps, lr);
    }

    private static SftTrainer.Result train(TrainOptions o, Path out, boolean resume) throws IOException {
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(base)) {
            return new SftTrainer(base, model, backend, o, out, TrainingListener.NONE).run(examples, examples.subList(0, 2), resume);
        }
    }

    /** Mean loss of the examples under the model in {@code dir} (a full model or a base plus adapter). */
    private static double evalLoss(Path dir, Path adapter) {
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(dir);
             ParameterSet params = new ParameterSet(backend);
             ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20)) {
            Qwen3Model m = adapter == null ? model : model.with(model.weights(), LoraAdapter.load(adapter, model.config(), params));
            double sum = 0;
            long n = 0;
            for (SftExample e : examples) {
                List<boolean[]> masks = List.of(e.predictMask());
                sum += Backprop.loss(m, scratch, List.of(e.tokens()), masks, 1.0);
                n += e.targetCount();
            }
            return sum / n;
        }
    }

    @Test
    void fullFineTuningLowersTheLossAndSavesAModelThatReloads() throws IOException {
        Path out = shared.resolve("full");
        SftTrainer.Result r = train(options(6, 3e-3), out, false);
        assertEquals(6, r.step());
        double before = evalLoss(base, null);
        double after = evalLoss(out, null);
        assertTrue(after < before - 0.1, "loss " + before + " -> " + after);
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"float32\""));
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(6 + 1, lines.size(), "six step lines and one eval line");
        assertTrue(lines.getLast().contains("eval_loss"));
    }

    /**
     * An 8-bit base: LoRA is refused before training (its backward would need the 8-bit weights
     * transposed), while full fine-tuning widens them to F32 and saves a plain F32 model whose
     * config no longer claims to be quantised.
     */
    @Test
    void eightBitBaseRefusesLoraAndFullFineTuningSavesPlainWeights() throws IOException {
        Path q8 = shared.resolve("tiny-q8");
        try (Qwen3Model model = Qwen3Model.load(base)) {
            org.reflectrm.model.qwen3.Q8Weights.save(q8, base, model.weights().named());
        }
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(q8)) {
            assertTrue(model.weights().quantized());
            org.reflectrm.model.BadInputException e = org.junit.jupiter.api.Assertions.assertThrows(
                    org.reflectrm.model.BadInputException.class,
                    () -> new SftTrainer(q8, model, backend, options(1, 1e-3).withLora(LoraConfig.of(4, 8)),
                            shared.resolve("q8-lora"), TrainingListener.NONE).run(examples, examples.subList(0, 2), false));
            assertTrue(e.getMessage().contains("8-bit weights"), e.getMessage());
            Path full = shared.resolve("q8-full");
            new SftTrainer(q8, model, backend, options(1, 1e-3), full, TrainingListener.NONE)
                    .run(examples, examples.subList(0, 2), false);
            try (Qwen3Model saved = Qwen3Model.load(full)) {
                assertEquals(DType.F32, saved.weights().layers().getFirst().qProj().dtype());
            }
            assertTrue(!java.nio.file.Files.readString(full.resolve("config.json")).contains("quantization_config"));
        }
    }

    @Test
    void loraTrainsOnlyTheAdapter() throws IOException {
        Path out = shared.resolve("lora");
        train(options(6, 1e-2).withLora(LoraConfig.of(4, 8)), out, false);
        assertTrue(Files.isRegularFile(out.resolve(PeftAdapterFiles.CONFIG)));
        assertFalse(Files.exists(out.resolve("model.safetensors")), "LoRA saves the adapter only");
        double before = evalLoss(base, null);
        double after = evalLoss(base, out);
        assertTrue(after < before - 0.05, "loss " + before + " -> " + after);
    }

    @Test
    void resumingAnInterruptedRunGivesTheSameWeights() throws IOException {
        for (LoraConfig lora : new LoraConfig[] {null, new LoraConfig(2, 4, 0.1, LoraConfig.ALL_LINEAR)}) {
            TrainOptions o = options(5, 3e-3);
            o = lora == null ? o : o.withLora(lora);
            Path straight = shared.resolve("straight-" + (lora == null));
            Path resumed = shared.resolve("resumed-" + (lora == null));
            train(o, straight, false);
            SftTrainer.Result first = train(o.withStopAfter(2), resumed, false);
            assertTrue(first.stoppedEarly());
            assertEquals(2, first.step());
            SftTrainer.Result rest = train(o, resumed, true);
            assertEquals(5, rest.step());
            String file = lora == null ? "model.safetensors" : PeftAdapterFiles.WEIGHTS;
            assertArrayEquals(Files.readAllBytes(straight.resolve(file)), Files.readAllBytes(resumed.resolve(file)),
                    (lora == null ? "full" : "LoRA") + ": resumed weights differ");
            assertArrayEquals(Files.readAllBytes(straight.resolve("trainer_state/params-00000005.safetensors")),
                    Files.readAllBytes(resumed.resolve("trainer_state/params-00000005.safetensors")));
            assertEquals(Files.readAllLines(straight.resolve("metrics.jsonl")).size(),
                    Files.readAllLines(resumed.resolve("metrics.jsonl")).size());
        }
    }

    @Test
    void resumeRefusesOtherSettings() throws IOException {
        Path out = shared.resolve("settings");
        train(options(3, 1e-3).withStopAfter(1), out, false);
        BadInputException e = assertThrows(BadInputException.class, () -> train(options(3, 2e-3), out, true));
        assertTrue(e.getMessage().contains("lr was 0.001, now 0.002"), e.getMessage());
    }

    @Test
    void aDivergingRunStopsAndKeepsTheLastCheckpoint() throws IOException {
        Path out = shared.resolve("nan");
        TrainOptions o = new TrainOptions(4, 1, 1e30, 2, 1, 256, org.reflectrm.model.train.data.SftBatcher.Mode.PAD,
                "constant", 0, 0, 0.9, 0.999, 1e-8, 0, 5, 1, 0, null, null, 0, false, "adamw", 0);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> train(o, out, false));
        assertTrue(e.getMessage().contains("the last checkpoint"), e.getMessage());
        assertTrue(Files.isRegularFile(out.resolve("trainer_state/state.json")));
        assertTrue(Files.readString(out.resolve("trainer_state/state.json")).contains("\"step\" : 1"));
    }
}
