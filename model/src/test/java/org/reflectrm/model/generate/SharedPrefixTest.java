package org.reflectrm.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.ScratchAllocator;

/** Prompts with a common head prefill it once; the results are those of prefilling every prompt whole. */
class SharedPrefixTest {
    static Path fixture(String name) throws Exception {
        return Path.of(SharedPrefixTest.class.getResource("/fixtures/" + name).toURI());
    }

    /** Four prompts after one 40-token head, two of them identical (as N rollouts are). */
    static List<int[]> prompts() {
        SplittableRandom r = new SplittableRandom(5);
        int[] head = r.ints(40, 0, 512).toArray();
        List<int[]> out = new ArrayList<>();
        for (int tail : new int[] {1, 1, 3, 7}) {                   // two identical prompts, as N rollouts are
            int[] p = java.util.Arrays.copyOf(head, head.length + tail);
            for (int i = head.length; i < p.length; i++) {
                p[i] = out.size() == 1 ? out.get(0)[i] : r.nextInt(512);
            }
            out.add(p);
        }
        return out;
    }

    @Test
    void sharedPrefillGivesTheSameGenerations() throws Exception {
        List<int[]> prompts = prompts();
        assertEquals(40, Generator.sharedPrefix(prompts));
        for (SamplingParams sampling : new SamplingParams[] {SamplingParams.GREEDY, new SamplingParams(false, 1.0, 0, 1.0, 0.0)}) {
            GenerationConfig config = new GenerationConfig(12, sampling, 3, Set.of());
            try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture("tiny-f32-untied"))) {
                Generator shared = new Generator(model, backend);
                List<Generator.Result> a = shared.generate(prompts, config);
                int sharedPrefill = shared.lastTiming().prefillTokens();
                Generator whole = new Generator(model, backend).sharePrefixes(false);
                List<Generator.Result> b = whole.generate(prompts, config);
                assertEquals(whole.lastTiming().prefillTokens() - 3 * 40, sharedPrefill, "the head is computed once");
                for (int i = 0; i < prompts.size(); i++) {
                    assertArrayEquals(b.get(i).tokens(), a.get(i).tokens(), sampling + " sequence " + i);
                    assertArrayEquals(b.get(i).logprobs(), a.get(i).logprobs(), 1e-4, sampling + " sequence " + i);
                }
            }
        }
    }

    /** A cache on a shared prefix stores only its own positions and computes what a whole cache computes. */
    @Test
    void aSharedPrefixIsKeptOnceAndGivesTheSameLogits() throws Exception {
        int[] prompt = prompts().get(3);                           // 40 shared + 7 own tokens
        int head = 40, capacity = 60;
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture("tiny-f32-untied"));
             ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
             KvCache once = new KvCache(model.config(), backend, head);
             KvCache whole = new KvCache(model.config(), backend, capacity)) {
            Ops ops = new Ops(scratch);
            int[] tail = java.util.Arrays.copyOfRange(prompt, head, prompt.length);
            model.forward(ops, List.of(java.util.Arrays.copyOf(prompt, head)), List.of(once), false);
            try (KvCache own = new KvCache(model.config(), backend, capacity, once, head)) {
                assertEquals(whole.byteSize() * (capacity - head) / capacity, own.byteSize(), "only own positions are stored");
                assertEquals(head, own.length());
                float[] want = model.forward(ops, List.of(prompt), List.of(whole), true).toFloatArray();
                float[] got = model.forward(ops, List.of(tail), List.of(own), true).toFloatArray();
                int vocab = model.config().vocabSize();
                for (int i = 0; i < got.length; i++) {
                    assertEquals(want[head * vocab + i], got[i], 1e-4, "prefill logit " + i);
                }
                for (int step = 0; step < 3; step++) {              // decode continues on both
                    int[] next = {17 + step};
                    float[] a = model.forward(ops, List.of(next), List.of(whole), false).toFloatArray();
                    float[] b = model.forward(ops, List.of(next), List.of(own), false).toFloatArray();
                    assertArrayEquals(a, b, 1e-4f, "decode step " + step);
                }
                assertEquals(prompt.length + 3, own.length());
            }
        }
    }

    /** Groups decoded as one batch give what separate calls give: same tokens, logprobs to rounding. */
    @Test
    void groupsInOneBatchMatchSeparateCalls() throws Exception {
        List<int[]> all = prompts();
        List<List<int[]>> groups = List.of(List.of(all.get(0), all.get(1)), List.of(all.get(2)), List.of(all.get(3), all.get(3)));
        GenerationConfig config = new GenerationConfig(10, new SamplingParams(false, 1.0, 0, 1.0, 0.0), 9, Set.of());
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(fixture("tiny-f32-untied"))) {
            Generator generator = new Generator(model, backend);
            List<Generator.Result> together = generator.generateGroups(groups, config, null);
            int at = 0;
            for (List<int[]> group : groups) {
                for (Generator.Result alone : generator.generate(group, config)) {
                    Generator.Result mine = together.get(at++);
                    assertArrayEquals(alone.tokens(), mine.tokens(), "sequence " + (at - 1));
                    assertArrayEquals(alone.logprobs(), mine.logprobs(), 1e-4, "sequence " + (at - 1));
                }
            }
            assertEquals(at, together.size());
        }
    }

    @Test
    void prefixesAreFoundConservatively() {
        assertEquals(0, Generator.sharedPrefix(List.of(new int[] {1, 2}, new int[] {3, 2})));
        assertEquals(1, Generator.sharedPrefix(List.of(new int[] {1, 2}, new int[] {1, 2})), "each keeps one token");
        assertEquals(2, Generator.sharedPrefix(List.of(new int[] {1, 2, 3, 4}, new int[] {1, 2, 9})));
    }
}
