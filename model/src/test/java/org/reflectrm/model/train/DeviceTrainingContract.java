package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Tensor;

/**
 * Backprop through the one model definition on a GPU device: the same {@link Qwen3Model} and
 * ops, with weights, parameters, gradients and activations in device memory. Every gradient
 * must match the CPU's within 1e-4 of its largest element (the CPU's own gradients match
 * PyTorch, see {@link GradientParityTest}), on the PyTorch gradient fixtures.
 */
public abstract class DeviceTrainingContract {
    protected abstract Device open();

    /** What one backward pass gave: the loss and every parameter's gradient. */
    private record Result(double loss, Map<String, float[]> grads) {
    }

    /** Runs one loss and backward of fixture case {@code c} with the model that {@code setup} makes on {@code device}. */
    private static Result run(Device device, Path modelDir, JsonNode c,
                              BiFunction<Qwen3Model, ParameterSet, Qwen3Model> setup) {
        try (Qwen3Model base = Qwen3Model.load(modelDir);
             ParameterSet params = new ParameterSet(device);
             DeviceTensors weights = new DeviceTensors(device);
             Allocator scratch = Allocator.scratch(device, 1 << 20)) {
            Qwen3Model model = setup.apply(base.on(weights), params);
            List<boolean[]> masks = GradientParityTest.masks(c);
            Transfers.Count before = device.transfers();
            double loss = Backprop.lossAndGradients(model, scratch, GradientParityTest.sequences(c), masks,
                    Backprop.countTargets(masks));
            Transfers.Count step = device.transfers().since(before);
            // A step moves token ids, positions, targets and losses: bytes per token and layer,
            // far below any weight matrix of these models (16 KB and up). Weights never move.
            long tokens = GradientParityTest.sequences(c).stream().mapToLong(s -> s.length).sum();
            long bound = 64 * tokens * (base.config().numHiddenLayers() + 1);
            assertTrue(step.uploadedBytes() + step.downloadedBytes() <= bound,
                    "a training step moved " + step + ", more than " + bound + " bytes");
            assertEquals(device instanceof HostDevice, params.all().values().iterator().next().grad().onHost(),
                    "gradients live on the device");
            Map<String, float[]> grads = new LinkedHashMap<>();
            params.all().forEach((name, p) -> grads.put(name, p.grad().toFloatArray()));
            return new Result(loss, grads);
        }
    }

    private void assertSameAsCpu(Path modelDir, JsonNode c, String name,
                                 BiFunction<Qwen3Model, ParameterSet, Qwen3Model> setup) {
        Result want;
        try (CpuBackend backend = new CpuBackend(2); HostDevice host = new HostDevice(backend)) {
            want = run(host, modelDir, c, setup);
        }
        Result got;
        try (Device device = open()) {
            got = run(device, modelDir, c, setup);
        }
        assertEquals(want.loss(), got.loss(), 1e-5 * want.loss(), name + ": loss");
        assertEquals(want.grads().keySet(), got.grads().keySet(), name + ": parameters");
        want.grads().forEach((param, w) -> {
            float[] g = got.grads().get(param);
            double scale = 0, worst = 0;
            for (int i = 0; i < w.length; i++) {
                scale = Math.max(scale, Math.abs(w[i]));
                worst = Math.max(worst, Math.abs(w[i] - g[i]));
            }
            assertTrue(scale > 0, name + ": " + param + " has no gradient on the CPU");
            assertTrue(worst <= 1e-4 * scale, name + ": " + param + " differs by " + worst + " (largest element " + scale + ")");
        });
    }

    @ParameterizedTest(name = "activation checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void fullFineTuneGradientsMatchTheCpu(boolean checkpointing) throws IOException {
        for (JsonNode c : GradientParityTest.json("full.json").get("cases")) {
            String model = c.get("model").asText();
            assertSameAsCpu(GradientParityTest.FIXTURES.resolve(model), c, c.get("name").asText() + "/" + model,
                    (base, params) -> FullFineTune.of(base, params).withActivationCheckpointing(checkpointing));
        }
    }

    @ParameterizedTest(name = "activation checkpointing {0}")
    @ValueSource(booleans = {false, true})
    void loraGradientsMatchTheCpu(boolean checkpointing) throws IOException {
        JsonNode c = GradientParityTest.json("lora.json");
        Path adapter = GradientParityTest.FIXTURES.resolve("grad").resolve(c.get("adapter").asText());
        assertSameAsCpu(GradientParityTest.FIXTURES.resolve(c.get("base").asText()), c, "LoRA",
                (base, params) -> base.with(base.weights(), LoraAdapter.load(adapter, base.config(), params))
                        .withActivationCheckpointing(checkpointing));
    }
}
