package org.reflectrm.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checkpointing the optimizer state, and determinism of the update. */
class OptimizerStateTest {

    /** Runs steps [from, to) of the fixture on the given parameters, with its clip and schedule. */
    private static void run(Fixture fx, List<OptimParam> params, Optimizer opt, int from, int to) {
        for (int k = from; k < to; k++) {
            fx.setGrads(params, k);
            if (fx.maxGradNorm() > 0) {
                GradClip.clipByGlobalNorm(params, fx.maxGradNorm());
            }
            opt.step(fx.schedule().lr(k));
        }
    }

    private static Map<String, float[]> values(List<OptimParam> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach(p -> out.put(p.name(), p.valueSlice().toArray(ValueLayout.JAVA_FLOAT)));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"adamw_cosine_clip", "adamw_linear", "sgd_momentum"})
    void saveAndRestoreMidRunIsBitIdentical(String name) {
        Fixture fx = Fixture.load(name);
        int n = fx.steps();
        Map<String, float[]> straight;
        try (Arena arena = Arena.ofConfined()) {
            List<OptimParam> params = fx.params(arena);
            try (Optimizer opt = fx.optimizer(params)) {
                run(fx, params, opt, 0, n);
            }
            straight = values(params);
        }
        for (int cut = 0; cut <= n; cut++) {
            // First half, then a "checkpoint" of values and state as heap copies; all memory is freed.
            Map<String, float[]> savedValues;
            Map<String, float[]> savedState = new LinkedHashMap<>();
            long savedStep;
            try (Arena arena = Arena.ofConfined()) {
                List<OptimParam> params = fx.params(arena);
                try (Optimizer opt = fx.optimizer(params)) {
                    run(fx, params, opt, 0, cut);
                    opt.saveState((key, seg) -> savedState.put(key, seg.toArray(ValueLayout.JAVA_FLOAT)));
                    assertEquals(opt.stateNames(), new ArrayList<>(savedState.keySet()));
                    savedStep = opt.stepCount();
                }
                savedValues = values(params);
            }
            // Second half in fresh memory, from the checkpoint.
            try (Arena arena = Arena.ofConfined()) {
                List<OptimParam> params = fx.params(arena);
                for (OptimParam p : params) {
                    MemorySegment.copy(MemorySegment.ofArray(savedValues.get(p.name())), 0, p.valueSlice(), 0,
                            p.size() * Float.BYTES);
                }
                try (Optimizer opt = fx.optimizer(params)) {
                    opt.loadState(savedStep, key -> MemorySegment.ofArray(savedState.get(key)));
                    assertEquals(cut, opt.stepCount());
                    run(fx, params, opt, cut, n);
                }
                Map<String, float[]> resumed = values(params);
                for (String p : straight.keySet()) {
                    assertArrayEquals(straight.get(p), resumed.get(p), name + " cut at " + cut + ": " + p);
                }
            }
        }
    }

    @Test
    void stateIsNamedAfterTheParameters() {
        try (Arena arena = Arena.ofConfined()) {
            List<OptimParam> params = Fixture.load("adamw_linear").params(arena);
            try (AdamW adam = new AdamW(params, AdamW.Config.defaults());
                    Sgd sgd = new Sgd(params, new Sgd.Config(0.9, 0));
                    Sgd plain = new Sgd(params, Sgd.Config.defaults())) {
                assertEquals(List.of("model.layers.0.mlp.up_proj.weight.exp_avg",
                        "model.layers.0.mlp.up_proj.weight.exp_avg_sq",
                        "model.layers.0.input_layernorm.weight.exp_avg",
                        "model.layers.0.input_layernorm.weight.exp_avg_sq",
                        "model.norm.weight.exp_avg", "model.norm.weight.exp_avg_sq"), adam.stateNames());
                assertEquals("model.norm.weight.momentum_buffer", sgd.stateNames().get(2));
                assertEquals(List.of(), plain.stateNames());
            }
        }
    }

    @Test
    void aFailedLoadChangesNothing() {
        Fixture fx = Fixture.load("adamw_cosine_clip");
        try (Arena arena = Arena.ofConfined()) {
            List<OptimParam> params = fx.params(arena);
            try (Optimizer opt = fx.optimizer(params)) {
                run(fx, params, opt, 0, 2);
                Map<String, float[]> before = new LinkedHashMap<>();
                opt.saveState((key, seg) -> before.put(key, seg.toArray(ValueLayout.JAVA_FLOAT)));
                Map<String, float[]> partial = new LinkedHashMap<>();
                before.forEach((key, v) -> partial.put(key, new float[v.length]));
                String last = opt.stateNames().getLast();
                partial.remove(last);
                assertThrows(IllegalArgumentException.class,
                        () -> opt.loadState(5, key -> partial.containsKey(key) ? MemorySegment.ofArray(partial.get(key)) : null));
                partial.put(last, new float[1]);   // wrong size
                assertThrows(IllegalArgumentException.class,
                        () -> opt.loadState(5, key -> MemorySegment.ofArray(partial.get(key))));
                assertEquals(2, opt.stepCount());
                opt.saveState((key, seg) -> assertArrayEquals(before.get(key), seg.toArray(ValueLayout.JAVA_FLOAT), key));
            }
        }
    }

    @Test
    void duplicateParameterNamesAreRejected() {
        OptimParam p = OptimParam.of("w", MemorySegment.ofArray(new float[2]), MemorySegment.ofArray(new float[2]));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(p, p), AdamW.Config.defaults()));
    }

    @Test
    void zeroGradClearsOnlyTheGradientRange() {
        float[] grad = {1, 2, 3, 4};
        OptimParam p = new OptimParam("w", MemorySegment.ofArray(new float[2]), 0, MemorySegment.ofArray(grad), 1, 2,
                true);
        try (Sgd sgd = new Sgd(List.of(p), Sgd.Config.defaults())) {
            sgd.zeroGrad();
        }
        assertArrayEquals(new float[] {1, 0, 0, 4}, grad);
    }

    /**
     * The vector loop and the scalar tail must compute the same bits: one parameter of 67 floats
     * (mostly vector lanes) against 67 parameters of one float (all scalar tail), at element offsets.
     */
    @ParameterizedTest
    @ValueSource(strings = {"adamw", "sgd"})
    void resultsDoNotDependOnTheLaneSplit(String kind) {
        int n = 67;
        java.util.Random rnd = new java.util.Random(7);
        float[] init = new float[n + 3];
        float[][] grads = new float[5][n + 3];
        for (int i = 0; i < init.length; i++) {
            init[i] = (float) rnd.nextGaussian();
            for (float[] g : grads) {
                g[i] = (float) rnd.nextGaussian();
            }
        }
        float[] wide = init.clone(), narrow = init.clone();
        float[] wideGrad = new float[n + 3], narrowGrad = new float[n + 3];
        MemorySegment wv = MemorySegment.ofArray(wide), wg = MemorySegment.ofArray(wideGrad);
        MemorySegment nv = MemorySegment.ofArray(narrow), ng = MemorySegment.ofArray(narrowGrad);
        List<OptimParam> one = List.of(new OptimParam("w", wv, 3, wg, 3, n, true));
        List<OptimParam> many = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            many.add(new OptimParam("w" + i, nv, 3 + i, ng, 3 + i, 1, true));
        }
        try (Optimizer a = optimizer(kind, one); Optimizer b = optimizer(kind, many)) {
            for (float[] g : grads) {
                System.arraycopy(g, 0, wideGrad, 0, g.length);
                System.arraycopy(g, 0, narrowGrad, 0, g.length);
                a.step(0.01);
                b.step(0.01);
            }
        }
        assertArrayEquals(narrow, wide);
        for (int i = 0; i < 3; i++) {
            assertEquals(init[i], wide[i]);   // outside the parameter: untouched
        }
    }

    private static Optimizer optimizer(String kind, List<OptimParam> params) {
        return kind.equals("adamw") ? new AdamW(params, new AdamW.Config(0.9, 0.95, 1e-8, 0.1))
                : new Sgd(params, new Sgd.Config(0.9, 0.01));
    }
}
