package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * Every differentiable op of {@link Ops} against central finite differences, plus the tape's
 * bookkeeping (accumulation, reuse, detach, noGrad, views, inference).
 *
 * <p>Method: inputs are parameters with zeroed F32 gradient buffers; the op's output y is reduced
 * to the scalar {@code L = Σ r·y} with a fixed random r (itself recorded, as {@code linear} of y
 * flattened to {@code [1, n]} against r {@code [1, n]}), or {@code L} is the op's own scalar
 * (cross-entropy); {@code backward(L, 1)}. Each gradient element is compared with
 * {@code (L(x + ε e_i) − L(x − ε e_i)) / 2ε}, both L evaluated by forward runs under
 * {@link Tape#noGrad} (the F32 kernels; the reduction by r in double). ε = 1e-2 (ops linear in the
 * checked input are exact at any ε) or 3e-3 for the curved ones; an element passes when
 * {@code |analytic − numeric| ≤ 1e-2 · max_i |analytic_i|} (the gradient's largest magnitude).
 */
class AutogradTest {
    private static final float TOL = 1e-2f;
    private static final float EPS_LINEAR = 1e-2f;
    private static final float EPS_CURVED = 3e-3f;

    private CpuBackend backend;
    /** Activations, gradients of intermediates, finite-difference forwards. */
    private ScratchAllocator scratch;
    /** Parameter values and their gradient buffers: never reset. */
    private ScratchAllocator store;
    private Ops storeOps;
    private final Random random = new Random(20240607L);

    @BeforeEach
    void setUp() {
        backend = new CpuBackend(2);
        scratch = new ScratchAllocator(backend, 1 << 20);
        store = new ScratchAllocator(backend, 1 << 20);
        storeOps = new Ops(store);
    }

    @AfterEach
    void tearDown() {
        scratch.close();
        store.close();
        backend.close();
    }

    // ------------------------------------------------------------------ harness

    /** Builds the checked function of the (captured) inputs with the given ops. */
    @FunctionalInterface
    interface Graph {
        Tensor build(Ops ops);
    }

    private float[] randn(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }

    private static int numel(int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    /** A parameter holding {@code values}, with a zeroed F32 gradient buffer. */
    private Tensor param(float[] values, int... shape) {
        Tensor value = storeOps.fromArray(values, shape);
        return Tensor.parameter(value, storeOps.zeros(shape));
    }

    private Tensor randParam(float scale, int... shape) {
        return param(randn(numel(shape), scale), shape);
    }

    /** A frozen BF16 tensor: the BF16 bits of {@code values} (truncated) written into a segment. */
    private Tensor bf16(float[] values, int... shape) {
        MemorySegment seg = store.slice((long) values.length * 2);
        for (int i = 0; i < values.length; i++) {
            seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(values[i]) >>> 16));
        }
        return new Tensor(seg, 0, DType.BF16, shape);
    }

    private void zeroGrads(Tensor... params) {
        for (Tensor p : params) {
            Tensor g = p.grad();
            assertNotNull(g, "parameter without gradient buffer");
            for (long i = 0; i < g.numel(); i++) {
                g.setFloat(i, 0f);
            }
        }
    }

    /** {@code L = Σ r·y}, recorded: linear of y {@code [1, n]} against r {@code [1, n]} gives {@code [1, 1]}. */
    private static Tensor project(Ops ops, Tensor y, float[] r) {
        Tensor weight = ops.fromArray(r, 1, r.length);
        return ops.linear(y.reshape(1, (int) y.numel()), weight);
    }

    private static double dot(Tensor y, float[] r) {
        float[] v = y.toFloatArray();
        assertEquals(r.length, v.length);
        double s = 0;
        for (int i = 0; i < v.length; i++) {
            s += (double) v[i] * r[i];
        }
        return s;
    }

    /** Analytic gradients (one array per input) of {@code L = Σ r·graph} from one recorded backward. */
    private float[][] analytic(Tape tape, Ops ops, Graph graph, float[] r, float seed, Tensor... inputs) {
        zeroGrads(inputs);
        Tensor y = graph.build(ops);
        assertTrue(y.requiresGrad(), "output of a graph over parameters must require a gradient");
        Tensor root = r == null ? y : project(ops, y, r);
        tape.backward(root, seed);
        float[][] grads = new float[inputs.length][];
        for (int k = 0; k < inputs.length; k++) {
            grads[k] = inputs[k].grad().toFloatArray();
        }
        return grads;
    }

    /** L at the current parameter values, by a no-grad forward (which must record nothing). */
    private double loss(Tape tape, Ops ops, Graph graph, float[] r) throws Exception {
        int before = tape.size();
        long mark = scratch.mark();
        try (AutoCloseable off = tape.noGrad()) {
            Tensor y = graph.build(ops);
            assertFalse(y.requiresGrad(), "no-grad forward returned a tracked tensor");
            return r == null ? y.getFloat(0) : dot(y, r);
        } finally {
            scratch.release(mark);
            assertEquals(before, tape.size(), "no-grad forward recorded steps");
        }
    }

    private float[] numeric(Tape tape, Ops ops, Graph graph, float[] r, Tensor x, float eps) throws Exception {
        float[] g = new float[(int) x.numel()];
        for (int i = 0; i < g.length; i++) {
            float orig = x.getFloat(i);
            float plus = orig + eps;
            float minus = orig - eps;
            x.setFloat(i, plus);
            double lp = loss(tape, ops, graph, r);
            x.setFloat(i, minus);
            double lm = loss(tape, ops, graph, r);
            x.setFloat(i, orig);
            g[i] = (float) ((lp - lm) / ((double) plus - minus));
        }
        return g;
    }

    private static void assertClose(String what, float[] analytic, float[] numeric) {
        float max = 0;
        for (float a : analytic) {
            max = Math.max(max, Math.abs(a));
        }
        for (float n : numeric) {
            max = Math.max(max, Math.abs(n));
        }
        float allowed = TOL * max;
        for (int i = 0; i < analytic.length; i++) {
            if (!(Math.abs(analytic[i] - numeric[i]) <= allowed)) {
                fail(what + "[" + i + "]: analytic " + analytic[i] + " vs numeric " + numeric[i]
                        + " (allowed " + allowed + ", max |g| " + max + ")");
            }
        }
    }

    /**
     * Checks the gradient of {@code Σ r·graph} (or of graph itself, a one-element loss, when
     * {@code projected} is false) w.r.t. every input; returns the analytic gradients.
     */
    private float[][] gradCheck(String name, boolean projected, float eps, Graph graph, Tensor... inputs) throws Exception {
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        float[] r;
        if (projected) {
            long mark = scratch.mark();
            int n;
            try (AutoCloseable off = tape.noGrad()) {
                n = (int) graph.build(ops).numel();
            }
            scratch.release(mark);
            r = randn(n, 1f);
        } else {
            r = null;
        }
        float[][] grads = analytic(tape, ops, graph, r, 1f, inputs);
        int recorded = tape.size();
        assertTrue(recorded > 0);
        float largest = 0;
        for (int k = 0; k < inputs.length; k++) {
            assertClose(name + " d/d input " + k, grads[k], numeric(tape, ops, graph, r, inputs[k], eps));
            for (float v : grads[k]) {
                largest = Math.max(largest, Math.abs(v));
            }
        }
        // some gradient must be nonzero, or the check is vacuous (single inputs may be exactly 0:
        // attention over one token is its value, so dq = dk = 0 there, which the numbers confirm)
        assertTrue(largest > 1e-3f, name + ": every gradient is zero");
        assertEquals(recorded, tape.size());
        return grads;
    }

    // ------------------------------------------------------------------ op-by-op checks

    @Test
    void embeddingScatterAddsRepeatedIds() throws Exception {
        Tensor table = randParam(1f, 7, 13);
        int[] ids = {3, 1, 3, 0, 3, 6, 1};
        float[][] g = gradCheck("embedding", true, EPS_LINEAR, ops -> ops.embedding(table, ids), table);
        // rows never looked up get exactly nothing
        for (int c = 0; c < 13; c++) {
            assertEquals(0f, g[0][2 * 13 + c]);
            assertEquals(0f, g[0][4 * 13 + c]);
            assertEquals(0f, g[0][5 * 13 + c]);
        }
    }

    @Test
    void linearInputAndWeight() throws Exception {
        Tensor x = randParam(1f, 2, 3, 11);
        Tensor w = randParam(0.5f, 5, 11);
        gradCheck("linear", true, EPS_LINEAR, ops -> ops.linear(x, w), x, w);
    }

    @Test
    void linearWithFrozenBf16Weight() throws Exception {
        Tensor x = randParam(1f, 4, 19);
        Tensor w = bf16(randn(6 * 19, 0.5f), 6, 19);
        assertFalse(w.requiresGrad());
        gradCheck("linear bf16", true, EPS_LINEAR, ops -> ops.linear(x, w), x);
        // and the other way round: only the weight is trained, the input is a constant
        Tensor xc = storeOps.fromArray(randn(4 * 19, 1f), 4, 19);
        Tensor wp = randParam(0.5f, 6, 19);
        gradCheck("linear weight only", true, EPS_LINEAR, ops -> ops.linear(xc, wp), wp);
    }

    @ParameterizedTest
    @CsvSource({"16", "13"})
    void rmsNormInputAndWeight(int dim) throws Exception {
        Tensor x = randParam(1f, 3, dim);
        float[] wv = randn(dim, 0.3f);
        for (int i = 0; i < dim; i++) {
            wv[i] += 1f;
        }
        Tensor w = param(wv, dim);
        gradCheck("rmsNorm", true, EPS_CURVED, ops -> ops.rmsNorm(x, w, 1e-6f), x, w);
    }

    @Test
    void rmsNormPerHead() throws Exception {
        Tensor x = randParam(1f, 3, 4, 8);               // [tokens, heads, headDim]
        Tensor w = randParam(0.3f, 8);
        gradCheck("rmsNorm per head", true, EPS_CURVED, ops -> ops.rmsNorm(x, w, 1e-6f), x, w);
    }

    @Test
    void rmsNormFrozenWeightAndFrozenInput() throws Exception {
        Tensor x = randParam(1f, 5, 12);
        Tensor w = bf16(randn(12, 1f), 12);              // the dw == null path
        gradCheck("rmsNorm bf16 weight", true, EPS_CURVED, ops -> ops.rmsNorm(x, w, 1e-6f), x);
        Tensor xc = storeOps.fromArray(randn(5 * 12, 1f), 5, 12);   // the dx-to-scratch path
        Tensor wp = randParam(1f, 12);
        gradCheck("rmsNorm weight only", true, EPS_CURVED, ops -> ops.rmsNorm(xc, wp, 1e-6f), wp);
    }

    @Test
    void rope() throws Exception {
        Tensor x = randParam(1f, 5, 3, 8);
        int[] positions = {0, 3, 7, 1, 100};
        gradCheck("rope", true, EPS_LINEAR, ops -> ops.rope(x, positions, 10000f), x);
        Tensor y = randParam(1f, 2, 2, 16);
        gradCheck("rope 1e6", true, EPS_LINEAR, ops -> ops.rope(y, new int[] {5, 4096}, 1_000_000f), y);
    }

    @Test
    void swiglu() throws Exception {
        Tensor gate = randParam(1.5f, 4, 19);
        Tensor up = randParam(1f, 4, 19);
        gradCheck("swiglu", true, EPS_CURVED, ops -> ops.swiglu(gate, up), gate, up);
        Tensor x = randParam(1f, 3, 7);                  // both gradients land in one buffer
        gradCheck("swiglu(x, x)", true, EPS_CURVED, ops -> ops.swiglu(x, x), x);
    }

    @Test
    void addScaleCopy() throws Exception {
        Tensor a = randParam(1f, 3, 7);
        Tensor b = randParam(1f, 3, 7);
        gradCheck("add", true, EPS_LINEAR, ops -> ops.add(a, b), a, b);
        gradCheck("scale", true, EPS_LINEAR, ops -> ops.scale(a, -1.7f), a);
        gradCheck("copy", true, EPS_LINEAR, ops -> ops.copy(a), a);
    }

    @Test
    void concatRowsIncludingViewsOfOneTensor() throws Exception {
        Tensor a = randParam(1f, 2, 6);
        Tensor b = randParam(1f, 3, 6);
        Tensor c = randParam(1f, 4, 6);
        // c's row 2 appears twice (rows(2, 4) and rows(1, 3)); row 0 once; a, b in between
        gradCheck("concatRows", true, EPS_LINEAR,
                ops -> ops.concatRows(List.of(c.rows(2, 4), a, c.rows(0, 1), b, c.rows(1, 3))), a, b, c);
    }

    @ParameterizedTest
    @CsvSource({
        "4, 2, 1, 8", "4, 2, 5, 16", "4, 2, 9, 8",
        "4, 4, 1, 16", "4, 4, 5, 8", "4, 4, 9, 16"
    })
    void selfAttention(int heads, int kvHeads, int tokens, int headDim) throws Exception {
        Tensor q = randParam(1f, tokens, heads, headDim);
        Tensor k = randParam(1f, tokens, kvHeads, headDim);
        Tensor v = randParam(1f, tokens, kvHeads, headDim);
        float scale = (float) (1 / Math.sqrt(headDim));
        gradCheck("selfAttention " + heads + "/" + kvHeads + " t" + tokens + " d" + headDim, true, EPS_CURVED,
                ops -> ops.selfAttention(q, k, v, scale), q, k, v);
    }

    @Test
    void selfAttentionOnViewsOfOneProjection() throws Exception {
        // q, k, v as reshaped row blocks of one tracked tensor: their gradients share a buffer
        int tokens = 5, heads = 4, headDim = 8;
        Tensor qkv = randParam(1f, 3, tokens * heads * headDim);
        gradCheck("selfAttention views", true, EPS_CURVED, ops -> ops.selfAttention(
                qkv.rows(0, 1).reshape(tokens, heads, headDim),
                qkv.rows(1, 2).reshape(tokens, heads, headDim),
                qkv.rows(2, 3).reshape(tokens, heads, headDim), 0.35f), qkv);
    }

    @Test
    void crossEntropyWithRowWeights() throws Exception {
        Tensor h = randParam(1f, 6, 8);
        Tensor w = randParam(0.5f, 11, 8);
        int[] targets = {3, 0, 10, 7, 2, 5};
        float[] weights = {1f, 0f, 2.5f, 1f, 0f, 0.5f};
        float[][] g = gradCheck("crossEntropy", false, EPS_CURVED,
                ops -> ops.crossEntropy(h, w, targets, weights), h, w);
        for (int c = 0; c < 8; c++) {                    // zero-weight rows get exactly nothing
            assertEquals(0f, g[0][8 + c]);
            assertEquals(0f, g[0][4 * 8 + c]);
        }
        // an upstream gradient != 1 (the loss scaled by r[0] in the projection)
        gradCheck("crossEntropy upstream", true, EPS_CURVED, ops -> ops.crossEntropy(h, w, targets, weights), h, w);
    }

    @Test
    void tokenObjectiveOfTemperedLogprobs() throws Exception {
        Tensor h = randParam(1f, 5, 8);
        Tensor w = randParam(0.5f, 11, 8);
        int[] targets = {3, 0, 10, 7, 2};
        boolean[] counted = {true, false, true, true, true};
        double[] a = {0.7, 0, -1.3, 2.0, -0.4};
        // A nonlinear function of each log-probability (a clipped-ratio-like exp and a KL-like term), at temperature 0.6.
        Ops.TokenObjective term = (r, lp) -> new Ops.TokenTerm(-a[r] * Math.exp(lp + 1) + 0.3 * (Math.exp(-lp - 2) + lp),
                -a[r] * Math.exp(lp + 1) + 0.3 * (1 - Math.exp(-lp - 2)));
        float[][] g = gradCheck("tokenObjective", false, EPS_CURVED,
                ops -> ops.tokenObjective(h, w, targets, counted, 1 / 0.6f, term), h, w);
        for (int c = 0; c < 8; c++) {                    // uncounted rows get exactly nothing
            assertEquals(0f, g[0][8 + c]);
        }
        gradCheck("tokenObjective upstream", true, EPS_CURVED,
                ops -> ops.tokenObjective(h, w, targets, counted, 1 / 0.6f, term), h, w);
    }

    @Test
    void tokenObjectiveOfMinusLogprobIsCrossEntropy() {
        Tensor h = randParam(1f, 4, 8);
        Tensor w = randParam(0.5f, 9, 8);
        int[] targets = {1, 8, 0, 4};
        float[] weights = {0.5f, 0f, 2f, 1f};
        boolean[] counted = {true, false, true, true};
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        double[] seen = new double[4];
        Tensor mine = ops.tokenObjective(h, w, targets, counted, 1f, (r, lp) -> {
            seen[r] = lp;
            return new Ops.TokenTerm(-weights[r] * lp, -weights[r]);
        });
        tape.backward(mine, 1f);
        float[] gh = h.grad().toFloatArray(), gw = w.grad().toFloatArray();
        zeroGrads(h, w);
        Tape tape2 = new Tape(scratch);
        Tensor ce = new Ops(scratch, tape2).crossEntropy(h, w, targets, weights);
        tape2.backward(ce, 1f);
        assertEquals(ce.getFloat(0), mine.getFloat(0), 1e-5f);
        assertClose("dh", h.grad().toFloatArray(), gh);
        assertClose("dw", w.grad().toFloatArray(), gw);
        // the log-probabilities the objective saw are those of a plain log-softmax
        float[] hv = h.toFloatArray(), wv = w.toFloatArray();
        for (int r : new int[] {0, 2, 3}) {
            double[] logits = new double[9];
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < 9; v++) {
                for (int c = 0; c < 8; c++) {
                    logits[v] += (double) hv[r * 8 + c] * wv[v * 8 + c];
                }
                max = Math.max(max, logits[v]);
            }
            double sum = 0;
            for (double l : logits) {
                sum += Math.exp(l - max);
            }
            assertEquals(logits[targets[r]] - max - Math.log(sum), seen[r], 1e-5);
        }
    }

    @Test
    void crossEntropyPartialRequirements() throws Exception {
        int[] targets = {1, 4, 0};
        float[] weights = {0.25f, 1f, 0f};
        Tensor hc = storeOps.fromArray(randn(3 * 8, 1f), 3, 8);
        Tensor w = randParam(0.5f, 5, 8);
        gradCheck("crossEntropy w only", false, EPS_CURVED, ops -> ops.crossEntropy(hc, w, targets, weights), w);
        Tensor h = randParam(1f, 3, 8);
        Tensor wb = bf16(randn(5 * 8, 0.5f), 5, 8);
        gradCheck("crossEntropy h, bf16 w", false, EPS_CURVED, ops -> ops.crossEntropy(h, wb, targets, weights), h);
    }

    @Test
    void crossEntropyWithEveryRowWeightedZero() {
        Tensor h = randParam(1f, 2, 8);
        Tensor w = randParam(0.5f, 5, 8);
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        Tensor loss = ops.crossEntropy(h, w, new int[] {1, 2}, new float[] {0f, 0f});
        assertEquals(0f, loss.getFloat(0));
        tape.backward(loss, 1f);
        for (float v : h.grad().toFloatArray()) {
            assertEquals(0f, v);
        }
        for (float v : w.grad().toFloatArray()) {
            assertEquals(0f, v);
        }
    }

    @Test
    void dropoutMaskIsSharedByForwardAndBackward() throws Exception {
        float p = 0.3f;
        long seed = 0x5eed_0000_0001L;
        int n = 8 * 25;
        float[] xv = randn(n, 1f);
        Tensor x = param(xv, 8, 25);
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        Tensor y = ops.dropout(x, p, seed);
        assertTrue(y.requiresGrad());
        assertEquals(1, tape.size());
        float[] yv = y.toFloatArray();
        float keep = 1f / (1f - p);
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            if (yv[i] == 0f) {
                dropped++;
            } else {
                assertEquals(xv[i] * keep, yv[i], 1e-6f * Math.abs(yv[i]));
            }
        }
        assertTrue(dropped > 0.15 * n && dropped < 0.45 * n, dropped + " of " + n + " dropped at p = 0.3");
        // same seed, same mask; another seed, another mask
        float[] again = ops.dropout(x, p, seed).toFloatArray();
        float[] other = ops.dropout(x, p, seed + 12345).toFloatArray();
        boolean differs = false;
        for (int i = 0; i < n; i++) {
            assertEquals(yv[i] == 0f, again[i] == 0f);
            differs |= (yv[i] == 0f) != (other[i] == 0f);
        }
        assertTrue(differs);

        tape.clear();
        zeroGrads(x);
        float[] r = randn(n, 1f);
        Tensor root = project(ops, ops.dropout(x, p, seed), r);
        tape.backward(root, 1f);
        float[] g = x.grad().toFloatArray();
        for (int i = 0; i < n; i++) {
            float expected = yv[i] == 0f ? 0f : r[i] * keep;
            assertEquals(expected, g[i], 1e-6f * Math.abs(expected), "dropout gradient at " + i);
        }

        // outside recording it is the identity (no tape at all, or inside noGrad)
        Ops inference = new Ops(scratch);
        assertSame(x, inference.dropout(x, p, seed));
        try (AutoCloseable off = tape.noGrad()) {
            int before = tape.size();
            Tensor z = ops.dropout(x, p, seed);
            assertArrayEqualsExact(xv, z.toFloatArray());
            assertFalse(z.requiresGrad() && z != x, "no-grad dropout returned a new tracked tensor");
            assertEquals(before, tape.size());
        }
    }

    @Test
    void dropoutAppliesWhileTrainingEvenWhenItsInputNeedsNoGradient() {
        // A frozen activation (e.g. layer 0's normed embeddings feeding a LoRA adapter, whose
        // base weights are all frozen) needs no gradient, but the step is still training: the
        // LoRA path after it depends on the dropped values, as in PEFT.
        float[] xv = randn(200, 1f);
        Tensor x = storeOps.fromArray(xv, 8, 25);
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        assertTrue(ops.recording());
        float[] y = ops.dropout(x, 0.3f, 99L).toFloatArray();
        int dropped = 0;
        for (float v : y) {
            dropped += v == 0f ? 1 : 0;
        }
        // Dropout is a training-time op: it applies while the tape records even if its input needs
        // no gradient (LoRA on layer 0 sees an input computed from frozen weights only).
        assertTrue(dropped > 30, "dropout skipped during training: " + dropped + " of 200 dropped");
    }

    // ------------------------------------------------------------------ tape bookkeeping

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = randParam(1f, 3, 8);
        Tensor w = randParam(0.5f, 6, 8);
        Tensor nw = randParam(0.3f, 6);
        float[] r = randn(18, 1f);
        Graph graph = ops -> ops.rmsNorm(ops.linear(x, w), nw, 1e-6f);
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        float[][] once = analytic(tape, ops, graph, r, 1f, x, w, nw);
        tape.clear();
        assertEquals(0, tape.size());
        // a second micro-batch: the same forward again, gradients add up in the parameters' buffers
        tape.backward(project(ops, graph.build(ops), r), 1f);
        tape.clear();
        // and a third with seed 0.5 (averaging): total 2.5×
        tape.backward(project(ops, graph.build(ops), r), 0.5f);
        Tensor[] params = {x, w, nw};
        for (int k = 0; k < params.length; k++) {
            float[] g = params[k].grad().toFloatArray();
            for (int i = 0; i < g.length; i++) {
                assertEquals(2.5f * once[k][i], g[i], 1e-5f * Math.abs(once[k][i]) + 1e-7f, "param " + k + "[" + i + "]");
            }
        }
    }

    @Test
    void aTensorUsedTwiceGetsBothContributions() throws Exception {
        Tensor x = randParam(1f, 3, 7);
        float[][] g = gradCheck("add(x, x)", true, EPS_LINEAR, ops -> ops.add(x, x), x);
        Tensor y = randParam(1f, 3, 9);
        Tensor w1 = randParam(0.5f, 5, 9);
        Tensor w2 = randParam(0.5f, 5, 9);
        gradCheck("two linears", true, EPS_CURVED, ops -> ops.swiglu(ops.linear(y, w1), ops.linear(y, w2)), y, w1, w2);
        // a tracked intermediate used by three ops
        gradCheck("shared intermediate", true, EPS_CURVED, ops -> {
            Tensor h = ops.linear(y, w1);
            return ops.add(ops.scale(h, 0.5f), ops.swiglu(h, ops.copy(h)));
        }, y, w1);
        assertTrue(g[0].length > 0);
    }

    @Test
    void detachStopsGradients() {
        int rows = 3, in = 5, out = 4;
        float[] xv = randn(rows * in, 1f);
        float[] wv = randn(out * in, 0.5f);
        Tensor x = param(xv, rows, in);
        Tensor w = param(wv, out, in);
        Tensor xd = x.detach();
        assertFalse(xd.requiresGrad());
        assertNull(xd.grad());
        assertSame(x.segment(), xd.segment());
        assertEquals(x.offset(), xd.offset());

        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        float[] r = randn(rows * out, 1f);
        // y = x·wᵀ + detach(x)·wᵀ: x gets one share, w two
        Tensor y = ops.add(ops.linear(x, w), ops.linear(xd, w));
        tape.backward(project(ops, y, r), 1f);
        float[] gx = x.grad().toFloatArray();
        float[] gw = w.grad().toFloatArray();
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < in; c++) {
                double e = 0;
                for (int o = 0; o < out; o++) {
                    e += r[i * out + o] * wv[o * in + c];
                }
                assertEquals(e, gx[i * in + c], 1e-4 * (1 + Math.abs(e)));
            }
        }
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++) {
                double e = 0;
                for (int i = 0; i < rows; i++) {
                    e += 2.0 * r[i * out + o] * xv[i * in + c];
                }
                assertEquals(e, gw[o * in + c], 1e-4 * (1 + Math.abs(e)));
            }
        }
        // ops on detached tensors only record nothing; detaching a tracked intermediate cuts it off
        int before = tape.size();
        Tensor z = ops.scale(ops.copy(xd), 2f);
        assertFalse(z.requiresGrad());
        Tensor h = ops.linear(x, w);
        assertTrue(h.requiresGrad());
        assertFalse(h.detach().requiresGrad());
        assertEquals(before + 1, tape.size());
        Tensor x2 = ops.fromArray(new float[] {1f}, 1);
        assertSame(x2, x2.detach());
    }

    @Test
    void noGradRecordsNothing() throws Exception {
        Tensor[] p = bundle();
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        assertTrue(tape.recording());
        try (AutoCloseable outer = tape.noGrad()) {
            assertFalse(tape.recording());
            assertFalse(ops.recording());
            try (AutoCloseable inner = tape.noGrad()) {
                assertFalse(tape.recording());
            }
            assertFalse(tape.recording(), "closing a nested noGrad must restore the outer (off) state");
            for (Tensor t : everyOp(ops, p)) {
                assertFalse(t.requiresGrad(), "no-grad op returned a tracked " + t);
            }
            assertEquals(0, tape.size());
        }
        assertTrue(tape.recording());
        assertTrue(ops.linear(p[0], p[1]).requiresGrad());
        assertEquals(1, tape.size());
        assertThrows(IllegalStateException.class, () -> tape.backward(ops.fromArray(new float[] {1f}, 1), 1f));
    }

    @Test
    void inferenceOpsNeverRecord() {
        Tensor[] p = bundle();
        Ops inference = new Ops(scratch);
        assertNull(inference.tape());
        assertFalse(inference.recording());
        for (Tensor t : everyOp(inference, p)) {
            assertFalse(t.requiresGrad(), "inference op returned a tracked " + t);
        }
        Ops nullTape = new Ops(scratch, null);
        for (Tensor t : everyOp(nullTape, p)) {
            assertFalse(t.requiresGrad());
        }
        // a recording tape with inputs that need no gradient records nothing either
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        Tensor[] frozen = new Tensor[p.length];
        for (int i = 0; i < p.length; i++) {
            frozen[i] = p[i].detach();
        }
        for (Tensor t : everyOp(ops, frozen)) {
            assertFalse(t.requiresGrad());
        }
        assertEquals(0, tape.size());
    }

    @Test
    void chainThroughReshapeAndRowViews() throws Exception {
        Tensor x = randParam(1f, 2, 24);
        Tensor w = randParam(0.5f, 8, 8);
        Tensor nw = randParam(0.3f, 4);
        gradCheck("view chain", true, EPS_CURVED, ops -> {
            Tensor h = ops.rope(x.reshape(2, 3, 8), new int[] {0, 5}, 10000f);   // view of a leaf
            Tensor flat = h.reshape(6, 8);                                      // view of an intermediate
            Tensor s = ops.swiglu(flat.rows(0, 3), flat.rows(3, 6));            // row views of it
            Tensor l = ops.linear(s, w);                                        // [3, 8]
            Tensor n = ops.rmsNorm(l.reshape(3, 2, 4), nw, 1e-6f).reshape(6, 4);
            return ops.concatRows(List.of(n.rows(1, 5).reshape(2, 8), x.reshape(6, 8).rows(4, 6), l.rows(0, 1)));
        }, x, w, nw);
    }

    // ------------------------------------------------------------------ helpers for the recording tests

    /** x [2, 8], w [4, 8], norm weight [8], table [5, 8], q [3, 2, 8], kv [3, 1, 8]. */
    private Tensor[] bundle() {
        return new Tensor[] {randParam(1f, 2, 8), randParam(0.5f, 4, 8), randParam(0.3f, 8), randParam(1f, 5, 8),
            randParam(1f, 3, 2, 8), randParam(1f, 3, 1, 8), randParam(1f, 3, 1, 8)};
    }

    /** Runs every differentiable op once on the bundle's tensors. */
    private static List<Tensor> everyOp(Ops ops, Tensor[] p) {
        Tensor x = p[0], w = p[1], nw = p[2], table = p[3], q = p[4], k = p[5], v = p[6];
        List<Tensor> out = new ArrayList<>();
        out.add(ops.embedding(table, new int[] {1, 1, 4}));
        out.add(ops.linear(x, w));
        out.add(ops.rmsNorm(x, nw, 1e-6f));
        out.add(ops.rope(q, new int[] {0, 1, 2}, 10000f));
        out.add(ops.swiglu(x, x));
        out.add(ops.add(x, x));
        out.add(ops.scale(x, 3f));
        out.add(ops.copy(x));
        out.add(ops.concatRows(List.of(x, x.rows(1, 2))));
        out.add(ops.selfAttention(q, k, v, 0.3f));
        out.add(ops.crossEntropy(x, w, new int[] {0, 3}, new float[] {1f, 0.5f}));
        Tensor d = ops.dropout(x, 0.3f, 7L);
        if (!ops.recording()) {
            assertSame(x, d, "dropout outside recording must be the identity");
        } else {
            out.add(d);
        }
        return out;
    }

    private static void assertArrayEqualsExact(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), "element " + i);
        }
    }
}
