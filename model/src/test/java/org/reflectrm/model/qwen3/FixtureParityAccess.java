package org.reflectrm.model.qwen3;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.reflectrm.kernels.cpu.CpuBackend;

/** The transformers fixtures and the CPU reference, for tests in other packages. */
public final class FixtureParityAccess {
    private FixtureParityAccess() {
    }

    /** The folder of the committed fixture {@code name}. */
    public static Path fixture(String name) {
        return FixtureParityTest.fixture(name);
    }

    /** Its expected.json: prompts, transformers' logits and greedy continuations. */
    public static JsonNode expected(String name) throws IOException {
        return FixtureParityTest.expected(name);
    }

    public static int[] ints(JsonNode array) {
        return FixtureParityTest.ints(array);
    }

    /** CPU logits at every position of {@code prompt}, {@code [length × vocab]}. */
    public static float[] logits(Qwen3Model model, CpuBackend backend, int[] prompt) {
        return FixtureParityTest.logits(model, backend, prompt);
    }
}
