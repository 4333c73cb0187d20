package org.reflectrm.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;

/**
 * A batch larger than the device's memory budget runs as several passes, groups cut between
 * them where needed, and gives what one pass gives: the same tokens (greedy and sampled, each
 * sequence keeping its random stream) and log-probabilities, with the listener's indices and the
 * results in the caller's order.
 */
class BatchPassesTest {
    @Test
    void aBatchOverTheBudgetRunsInPassesWithTheSameResults() throws Exception {
        SplittableRandom r = new SplittableRandom(9);
        List<List<int[]>> groups = new ArrayList<>();
        for (int[] sizes : new int[][] {{3, 5, 9}, {4, 4}, {11}}) {
            List<int[]> group = new ArrayList<>();
            for (int n : sizes) {
                group.add(r.ints(n, 0, 512).toArray());
            }
            groups.add(group);
        }
        long[] seeds = {11, 12, 13};
        try (CpuBackend backend = new CpuBackend(2);
             Qwen3Model model = Qwen3Model.load(SharedPrefixTest.fixture("tiny-f32-untied"))) {
            Qwen3Config c = model.config();
            for (SamplingParams sampling : new SamplingParams[] {SamplingParams.GREEDY,
                    new SamplingParams(false, 1.0, 0, 1.0, 0.0)}) {
                GenerationConfig config = new GenerationConfig(8, sampling, 3, Set.of());
                Generator whole = new Generator(new Qwen3LanguageModel(model, new HostDevice(backend)));
                List<Generator.Result> want = whole.generateGroups(groups, seeds, config, null);
                assertEquals(1, whole.lastTiming().passes());

                // Room for two sequences of the longest prompt at a time.
                long perSequence = (11 + 8) * c.kvCacheBytesPerPosition() + 4L * c.vocabSize()
                        + 11 * c.prefillActivationBytesPerToken();
                Qwen3LanguageModel small = new Qwen3LanguageModel(model, new HostDevice(backend))
                        .withBatchMemoryBudget(2 * perSequence);
                Generator split = new Generator(small);
                Map<Integer, List<Integer>> heard = new HashMap<>();
                List<Generator.Result> got = split.generateGroups(groups, seeds, config,
                        (seq, token, lp) -> heard.computeIfAbsent(seq, k -> new ArrayList<>()).add(token));
                assertTrue(split.lastTiming().passes() >= 3, split.lastTiming().passes() + " passes");
                assertEquals(want.size(), got.size());
                for (int i = 0; i < want.size(); i++) {
                    assertArrayEquals(want.get(i).tokens(), got.get(i).tokens(), sampling + ", sequence " + i);
                    assertArrayEquals(want.get(i).logprobs(), got.get(i).logprobs(), 1e-4, "log-probabilities of " + i);
                    assertArrayEquals(got.get(i).tokens(), heard.get(i).stream().mapToInt(Integer::intValue).toArray(),
                            "the listener heard sequence " + i + " under its index");
                }
                assertEquals(whole.lastTiming().prefillTokens(), split.lastTiming().prefillTokens());
            }
        }
    }
}
