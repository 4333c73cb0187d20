package org.reflectrm.model.qwen3;

import org.reflectrm.kernels.cpu.CpuBackend;

/** Lets tests in other packages compute the CPU reference logits the fixture tests use. */
public final class FixtureParityAccess {
    private FixtureParityAccess() {
    }

    /** CPU logits at every position of {@code prompt}, {@code [length × vocab]}. */
    public static float[] logits(Qwen3Model model, CpuBackend backend, int[] prompt) {
        return FixtureParityTest.logits(model, backend, prompt);
    }
}
