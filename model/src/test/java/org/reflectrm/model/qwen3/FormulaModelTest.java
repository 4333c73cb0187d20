package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.ScratchAllocator;
import org.reflectrm.tensor.Tensor;

/**
 * The architecture check of qwen3-spec §1.6: a tiny Qwen3 whose weights are a formula, so no
 * fixture file is needed. The expected numbers were produced by transformers 5.18
 * (Qwen3ForCausalLM, fp32, eager attention) and are quoted from the spec.
 */
class FormulaModelTest {
    private static final int[] INPUT = {1, 17, 42, 99, 200, 5, 7, 128};

    private static Arena arena;
    private static CpuBackend backend;
    private static Qwen3Model model;

    @BeforeAll
    static void build() {
        arena = Arena.ofShared();
        backend = new CpuBackend(2);
        Qwen3Config config = new Qwen3Config(List.of("Qwen3ForCausalLM"), "qwen3", 256, 64, 160, 2, 4, 2, 32,
                "silu", 4096, 1e-6, 1e6, false, false, 0, false, null, 2, null, List.of(), null, 0.02, true,
                "float32", null);
        TreeMap<String, int[]> shapes = new TreeMap<>();
        shapes.put(Qwen3Weights.LM_HEAD, new int[] {256, 64});
        shapes.put(Qwen3Weights.EMBED, new int[] {256, 64});
        shapes.put(Qwen3Weights.FINAL_NORM, new int[] {64});
        List<int[]> layerShapes = Qwen3Weights.layerTensorShapes(config);
        for (int l = 0; l < 2; l++) {
            List<String> names = Qwen3Weights.layerTensorNames(l);
            for (int j = 0; j < names.size(); j++) {
                shapes.put(names.get(j), layerShapes.get(j));
            }
        }
        // Seeds follow the lexicographic order of the tensor names.
        TreeMap<String, Tensor> tensors = new TreeMap<>();
        int seed = 0;
        for (var e : shapes.entrySet()) {
            tensors.put(e.getKey(), formulaTensor(seed++, e.getKey(), e.getValue()));
        }
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            List<Tensor> t = Qwen3Weights.layerTensorNames(l).stream().map(tensors::get).toList();
            layers.add(new LayerWeights(t.get(0), t.get(1), t.get(2), t.get(3), t.get(4), t.get(5), t.get(6),
                    t.get(7), t.get(8), t.get(9), t.get(10)));
        }
        Qwen3Weights weights = new Qwen3Weights(tensors.get(Qwen3Weights.EMBED), layers,
                tensors.get(Qwen3Weights.FINAL_NORM), tensors.get(Qwen3Weights.LM_HEAD), true);
        model = new Qwen3Model(config, weights, null);
    }

    @AfterAll
    static void close() {
        backend.close();
        arena.close();
    }

    /** The spec's generator, verbatim in behaviour: a splitmix-style hash of (seed, index). */
    static float gen(int seed, long i, double scale, double offset) {
        long x = i * 0x9E3779B97F4A7C15L + (seed + 1L) * 0xBF58476D1CE4E5B9L;
        x ^= (x >>> 31);
        x *= 0x94D049BB133111EBL;
        x ^= (x >>> 29);
        double u = (x >>> 40) / 16777216.0;
        return (float) (offset + (u - 0.5) * scale);
    }

    private static Tensor formulaTensor(int seed, String name, int[] shape) {
        boolean norm = name.endsWith("norm.weight");
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        Tensor t = new Tensor(arena.allocate(n * 4, 64), 0, DType.F32, shape);
        for (long i = 0; i < n; i++) {
            t.setFloat(i, norm ? gen(seed, i, 0.5, 1.0) : gen(seed, i, 0.2, 0.0));
        }
        return t;
    }

    @Test
    void generatorMatchesTheSpecSpotValues() {
        assertEquals(0.02230383f, gen(0, 0, 0.2, 0), 1e-8);
        assertEquals(-0.025405336f, gen(1, 0, 0.2, 0), 1e-8);
        assertEquals(1.1821063f, gen(24, 3, 0.5, 1.0), 1e-7);
    }

    @Test
    void logitsMatchTransformers() {
        float[] logits = fullLogits();
        float[] lastFirst8 = {0.233572f, -0.245911f, -0.645958f, 0.45638f, 0.020533f, -0.158946f, 0.544685f, 0.176844f};
        float[] firstFirst4 = {-0.061665f, -0.341592f, -0.204904f, -0.178428f};
        for (int i = 0; i < 8; i++) {
            assertEquals(lastFirst8[i], logits[7 * 256 + i], 1e-5, "last position, logit " + i);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(firstFirst4[i], logits[i], 1e-5, "position 0, logit " + i);
        }
        int[] argmax = new int[8];
        double sum = 0, abs = 0;
        for (int p = 0; p < 8; p++) {
            int best = 0;
            for (int v = 0; v < 256; v++) {
                float x = logits[p * 256 + v];
                sum += x;
                abs += Math.abs(x);
                if (x > logits[p * 256 + best]) {
                    best = v;
                }
            }
            argmax[p] = best;
        }
        assertArrayEquals(new int[] {6, 6, 6, 12, 6, 187, 17, 200}, argmax);
        assertEquals(1.37685f, logits[7 * 256 + 200], 1e-5);
        assertEquals(55.63081, sum, 2e-3);
        assertEquals(754.37616, abs, 2e-3);
    }

    @Test
    void greedyContinuationMatchesTransformers() {
        Generator generator = new Generator(model, backend);
        int[] tokens = generator.generate(List.of(INPUT),
                new GenerationConfig(8, SamplingParams.GREEDY, 0, Set.of())).getFirst().tokens();
        assertArrayEquals(new int[] {200, 207, 6, 200, 229, 133, 207, 74}, tokens);
    }

    private static float[] fullLogits() {
        try (ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
             KvCache cache = new KvCache(model.config(), backend, INPUT.length)) {
            return model.forward(new Ops(scratch), List.of(INPUT), List.of(cache), true).toFloatArray();
        }
    }
}
