package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.kernels.device.SumOfSquares;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.model.train.data.SftExample;

/**
 * SFT on a GPU device against the same run on the CPU: the loop, AdamW, clipping by global
 * norm and the checkpoints, with parameters, gradients, moments and activations on the device.
 * Losses, gradient norms and evaluation losses agree per step within {@link #LOSS_TOL}; the
 * trained parameters within {@link #PARAM_TOL} of the most a run can move them (AdamW moves an
 * element by at most about lr per step, so float rounding in a gradient can change an element by
 * a fraction of that, and no more). A run may resume on the other device from the same files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DeviceSftContract {
    /** Relative difference allowed between the CPU's and the device's losses and gradient norms. */
    private static final double LOSS_TOL = 1e-4;
    /**
     * Largest parameter difference allowed, as a fraction of steps × lr. PoCL stays under 0.02:
     * the worst elements are embedding rows whose gradients are near Adam's eps, where a rounding
     * in the gradient shows most in the update.
     */
    private static final double PARAM_TOL = 0.05;
    private static final double LR = 3e-3;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path shared;
    private Path base;
    private List<SftExample> examples;

    protected abstract Device open();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        shared = dir;
        base = SftFixture.tinyModel(shared.resolve("tiny"));
        examples = SftFixture.examples();
    }

    /** What a run's listener saw: the device's transfer counts at the end of each step, and its tokens. */
    private record Seen(List<Transfers.Count> atStep, List<Long> tokens) {
    }

    /** Trains with {@code o} into {@code out} on the device under test, or on the CPU. */
    private Seen train(boolean onDevice, TrainOptions o, Path out, boolean resume) throws IOException {
        try (CpuBackend backend = new CpuBackend(2);
             Device device = onDevice ? open() : new HostDevice(backend);
             Qwen3Model model = Qwen3Model.load(base)) {
            Seen seen = new Seen(new ArrayList<>(), new ArrayList<>());
            TrainingListener listener = new TrainingListener() {
                @Override
                public void onStep(StepMetrics m) {
                    seen.atStep().add(device.transfers());
                    seen.tokens().add(m.tokens());
                }
            };
            new SftTrainer(base, model, device, o, out, listener).run(examples, examples.subList(0, 2), resume);
            return seen;
        }
    }

    @Test
    void fullFineTuningMatchesTheCpu() throws IOException {
        assertSameRun(SftFixture.options(3, LR), "full");
    }

    @Test
    void loraMatchesTheCpu() throws IOException {
        assertSameRun(SftFixture.options(3, LR).withLora(LoraConfig.of(4, 8)), "lora");
    }

    private void assertSameRun(TrainOptions o, String name) throws IOException {
        Path cpu = shared.resolve(name + "-cpu"), device = shared.resolve(name + "-device");
        train(false, o, cpu, false);
        Seen seen = train(true, o, device, false);
        assertSameMetrics(cpu, device, name);
        assertSameParameters(cpu, device, o.steps(), name);
        assertStepsMoveNoWeights(seen, name);
    }

    /**
     * Between the end of step 1 and the end of step 2 (no evaluation, no save) the device moved
     * token ids, positions, targets, losses and the block sums of the gradient norm: bytes per
     * token (as {@link DeviceTrainingContract} bounds them, for the tiny model's 2 layers) and 4
     * bytes per 4096 parameters, never a weight (the tiny model's embedding alone is 39 MB in F32).
     */
    private static void assertStepsMoveNoWeights(Seen seen, String name) {
        Transfers.Count step = seen.atStep().get(1).since(seen.atStep().get(0));
        long perToken = 64L * seen.tokens().get(1) * (2 + 1);
        long blockSums = 4 * (SumOfSquares.blocks(151_936L * 64) + 64);   // the embedding, and one per other tensor
        long moved = step.uploadedBytes() + step.downloadedBytes();
        assertTrue(moved <= perToken + blockSums, name + ": a step moved " + step + ", more than "
                + (perToken + blockSums) + " bytes");
    }

    private static void assertSameMetrics(Path cpu, Path device, String name) throws IOException {
        List<String> want = Files.readAllLines(cpu.resolve("metrics.jsonl"));
        List<String> got = Files.readAllLines(device.resolve("metrics.jsonl"));
        assertEquals(want.size(), got.size(), name + ": metrics lines");
        for (int i = 0; i < want.size(); i++) {
            JsonNode w = JSON.readTree(want.get(i)), g = JSON.readTree(got.get(i));
            for (String field : List.of("loss", "grad_norm", "eval_loss", "lr")) {
                if (w.has(field)) {
                    double a = w.get(field).asDouble(), b = g.get(field).asDouble();
                    assertEquals(a, b, LOSS_TOL * Math.abs(a), name + ": " + field + " of line " + (i + 1));
                }
            }
        }
    }

    /** The trainer state's parameters: every tensor, element by element. */
    private static void assertSameParameters(Path cpu, Path device, long steps, String name) {
        String file = String.format("trainer_state/params-%08d.safetensors", steps);
        double bound = PARAM_TOL * steps * LR;
        try (Checkpoint want = Checkpoint.open(cpu.resolve(file)); Checkpoint got = Checkpoint.open(device.resolve(file))) {
            assertEquals(want.names(), got.names(), name + ": parameters");
            for (String tensor : want.names()) {
                float[] w = want.find(tensor).map(TensorEntry::data).orElseThrow().toArray(ValueLayout.JAVA_FLOAT);
                float[] g = got.find(tensor).map(TensorEntry::data).orElseThrow().toArray(ValueLayout.JAVA_FLOAT);
                double worst = 0;
                for (int i = 0; i < w.length; i++) {
                    worst = Math.max(worst, Math.abs(w[i] - g[i]));
                }
                assertTrue(worst <= bound, name + ": " + tensor + " differs by " + worst + " (bound " + bound + ")");
            }
        }
    }

    /**
     * Two steps on one device, two more on the other from the checkpoint, against four on the
     * CPU: the trainer state's files do not depend on the device that wrote them.
     */
    @Test
    void aRunResumesOnTheOtherDevice() throws IOException {
        TrainOptions o = SftFixture.options(4, LR);
        Path straight = shared.resolve("straight-cpu");
        train(false, o, straight, false);
        for (boolean firstOnDevice : new boolean[] {false, true}) {
            String name = firstOnDevice ? "device then cpu" : "cpu then device";
            Path resumed = shared.resolve(firstOnDevice ? "device-then-cpu" : "cpu-then-device");
            train(firstOnDevice, o.withStopAfter(2), resumed, false);
            train(!firstOnDevice, o, resumed, true);
            assertSameMetrics(straight, resumed, name);
            assertSameParameters(straight, resumed, 4, name);
        }
    }

    @Test
    void sgdWithMomentumAndDecayMatchesTheCpu() throws IOException {
        TrainOptions sgd = new TrainOptions(3, 1, LR, 2, 1, 256, org.reflectrm.model.train.data.SftBatcher.Mode.PAD,
                "constant", 0, 0.01, 0.9, 0.999, 1e-8, 1.0, 5, 0, 0, null, null, 0, false, "sgd", 0.9);
        assertSameRun(sgd, "sgd");
    }
}
