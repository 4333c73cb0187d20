package org.reflectrm.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.DeviceTensors;

/**
 * Generation with the one model definition on a GPU device ({@link Qwen3LanguageModel}: the
 * model's weights, KV caches and activations in device memory) gives the CPU's tokens and
 * log-probabilities, with and without prompts that share a prefix (on a GPU the caches copy the
 * prefix's rows instead of sharing them).
 */
public abstract class DeviceGenerationContract {
    protected abstract Device open();

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied"})
    void generationMatchesTheCpu(String model) throws Exception {
        int vocab = Qwen3Config.load(SharedPrefixTest.fixture(model)).vocabSize();
        List<int[]> prompts = SharedPrefixTest.prompts().stream()
                .map(p -> java.util.Arrays.stream(p).map(t -> t % vocab).toArray()).toList();
        for (SamplingParams sampling : new SamplingParams[] {SamplingParams.GREEDY, new SamplingParams(false, 1.0, 0, 1.0, 0.0)}) {
            GenerationConfig config = new GenerationConfig(10, sampling, 7, Set.of());
            for (boolean share : new boolean[] {true, false}) {
                List<Generator.Result> want;
                try (CpuBackend backend = new CpuBackend(2); Qwen3Model m = Qwen3Model.load(SharedPrefixTest.fixture(model))) {
                    want = new Generator(new Qwen3LanguageModel(m, backend)).sharePrefixes(share).generate(prompts, config);
                }
                List<Generator.Result> got;
                try (Device device = open(); Qwen3Model m = Qwen3Model.load(SharedPrefixTest.fixture(model));
                     DeviceTensors weights = new DeviceTensors(device)) {
                    got = new Generator(new Qwen3LanguageModel(m.on(weights), device)).sharePrefixes(share)
                            .generate(prompts, config);
                }
                String what = model + " " + sampling + (share ? " shared prefix" : "");
                assertEquals(want.size(), got.size(), what);
                for (int i = 0; i < want.size(); i++) {
                    assertArrayEquals(want.get(i).tokens(), got.get(i).tokens(), what + " sequence " + i);
                    assertArrayEquals(want.get(i).logprobs(), got.get(i).logprobs(), 1e-4, what + " sequence " + i);
                }
            }
        }
    }
}
