package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.qwen3.FixtureParityAccess;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * Full fine-tuning's parameters: registered in checkpoint order with the base's values, and laid
 * out so that a device that fuses its forward generates from them fused (GRPO's rollouts).
 */
class FullFineTuneTest {
    @Test
    void parametersKeepCheckpointOrderAndGenerateFusedWhereTheDeviceFuses() throws Exception {
        try (CpuBackend backend = new CpuBackend(2);
             Qwen3Model base = Qwen3Model.load(FixtureParityAccess.fixture("tiny-bf16-tied"));
             ParameterSet params = new ParameterSet(new HostDevice(backend, true))) {
            Qwen3Model model = FullFineTune.of(base, params);
            assertEquals(new ArrayList<>(base.weights().named().keySet()), new ArrayList<>(params.all().keySet()),
                    "parameters in checkpoint order");
            base.weights().named().forEach((name, w) -> {
                Tensor p = params.get(name);
                for (long i = 0; i < w.numel(); i += 7) {
                    assertEquals(w.getFloat(i), p.getFloat(i), name + " element " + i);
                }
            });
            int[] prompt = {5, 9, 14, 2, 7};
            try (Allocator scratch = Allocator.scratch(params.device(), 16L << 20);
                 KvCache cache = new KvCache(model.config(), params.device(), prompt.length, null, 0)) {
                Ops ops = new Ops(scratch);
                assertTrue(model.fuses(ops, List.of(cache)), "q/k/v and gate/up lie stacked: the forward fuses");
                float[] fused = model.forward(ops, List.of(prompt), List.of(cache), true).toFloatArray();
                float[] plain = FixtureParityAccess.logits(base, backend, prompt);
                for (int i = 0; i < plain.length; i++) {
                    assertEquals(plain[i], fused[i], 1e-4, "logit " + i);
                }
            }
        }
    }
}
