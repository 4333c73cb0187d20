package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * The fused ops against the same computation composed from unfused ops (whose gradients
 * AutogradTest checks by finite differences): values and every gradient must agree.
 */
class FusedAutogradOpsTest {
    private final CpuBackend backend = new CpuBackend(2);
    private final ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
    private final ScratchAllocator store = new ScratchAllocator(backend, 1 << 20);
    private final SplittableRandom random = new SplittableRandom(11);

    @AfterEach
    void close() {
        scratch.close();
        store.close();
        backend.close();
    }

    private Tensor param(float scale, int... shape) {
        Ops ops = new Ops(store);
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * scale);
        }
        return Tensor.parameter(ops.fromArray(v, shape), ops.zeros(shape));
    }

    private static void zeroGrads(Tensor... ps) {
        for (Tensor p : ps) {
            Tensor g = p.grad();
            for (long i = 0; i < g.numel(); i++) {
                g.setFloat(i, 0f);
            }
        }
    }

    /** Runs {@code f}, backward with a fixed upstream gradient; returns output and every gradient. */
    private float[][] run(BiFunction<Ops, Tensor[], Tensor> f, Tensor... ps) {
        zeroGrads(ps);
        Tape tape = new Tape(scratch);
        Ops ops = new Ops(scratch, tape);
        Tensor y = f.apply(ops, ps);
        float[] up = new float[(int) y.numel()];
        for (int i = 0; i < up.length; i++) {
            up[i] = (float) Math.sin(i * 0.37);
        }
        tape.backward(y, ops.fromArray(up, y.shape()));
        float[][] out = new float[ps.length + 1][];
        out[0] = y.toFloatArray();
        for (int i = 0; i < ps.length; i++) {
            out[i + 1] = ps[i].grad().toFloatArray();
        }
        tape.clear();
        scratch.reset();
        return out;
    }

    private static void assertClose(float[][] want, float[][] got, String what) {
        for (int i = 0; i < want.length; i++) {
            double scale = 1e-12;
            for (float v : want[i]) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int j = 0; j < want[i].length; j++) {
                assertEquals(want[i][j], got[i][j], 1e-5 * scale, what + ": array " + i + " element " + j);
            }
        }
    }

    @Test
    void loraLinearEqualsItsComposition() {
        float scale = 2.5f;
        Tensor x = param(1f, 6, 10), w = param(0.3f, 7, 10), a = param(0.3f, 3, 10), b = param(0.3f, 7, 3);
        float[][] composed = run((ops, p) -> ops.add(ops.linear(p[0], p[1]),
                ops.scale(ops.linear(ops.linear(p[0], p[2]), p[3]), scale)), x, w, a, b);
        float[][] fused = run((ops, p) -> ops.loraLinear(p[0], p[1], p[0], p[2], p[3], scale), x, w, a, b);
        assertClose(composed, fused, "loraLinear");
    }

    @Test
    void loraLinearWithDropoutAndAFrozenBf16Weight() {
        Tensor x = param(1f, 5, 8), a = param(0.3f, 2, 8), b = param(0.3f, 4, 2);
        Tensor w32 = new Ops(store).fromArray(new float[32], 4, 8);
        java.lang.foreign.MemorySegment seg = store.slice(64);
        for (int i = 0; i < 32; i++) {
            float v = (float) random.nextGaussian();
            seg.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) (Float.floatToRawIntBits(v) >>> 16));
            w32.setFloat(i, Float.intBitsToFloat(Float.floatToRawIntBits(v) & 0xffff0000));
        }
        Tensor wBf16 = new Tensor(seg, 0, DType.BF16, 4, 8);
        float[][] composed = run((ops, p) -> {
            Tensor xa = ops.dropout(p[0], 0.25f, 99);
            return ops.add(ops.linear(p[0], w32), ops.scale(ops.linear(ops.linear(xa, p[1]), p[2]), 0.5f));
        }, x, a, b);
        float[][] fused = run((ops, p) -> ops.loraLinear(p[0], wBf16, ops.dropout(p[0], 0.25f, 99), p[1], p[2], 0.5f), x, a, b);
        assertClose(composed, fused, "loraLinear with dropout");
    }

    @Test
    void checkpointedBlockGivesTheSameGradients() {
        Tensor x = param(1f, 4, 8), w1 = param(0.3f, 8, 8), w2 = param(0.3f, 8, 8), nw = param(0.5f, 8);
        BiFunction<Ops, Tensor[], Tensor> block = (ops, p) -> ops.add(p[0],
                ops.linear(ops.swiglu(ops.linear(ops.rmsNorm(p[0], p[3], 1e-6f), p[1]), ops.linear(p[0], p[2])), p[1]));
        float[][] plain = run((ops, p) -> block.apply(ops, p), x, w1, w2, nw);
        float[][] checkpointed = run((ops, p) -> ops.checkpoint(p[0],
                (inner, in) -> block.apply(inner, new Tensor[] {in, p[1], p[2], p[3]})), x, w1, w2, nw);
        assertClose(plain, checkpointed, "checkpoint");
        // Two checkpointed blocks in a row, the second fed by the first.
        float[][] twice = run((ops, p) -> {
            Tensor h = block.apply(ops, p);
            return block.apply(ops, new Tensor[] {h, p[1], p[2], p[3]});
        }, x, w1, w2, nw);
        float[][] twiceCkpt = run((ops, p) -> {
            Tensor h = ops.checkpoint(p[0], (inner, in) -> block.apply(inner, new Tensor[] {in, p[1], p[2], p[3]}));
            return ops.checkpoint(h, (inner, in) -> block.apply(inner, new Tensor[] {in, p[1], p[2], p[3]}));
        }, x, w1, w2, nw);
        assertClose(twice, twiceCkpt, "two checkpoints");
    }

    @Test
    void blocksReleaseTheirBackwardScratchButKeepTheInputGradient() {
        Tensor x = param(1f, 4, 8), w = param(0.3f, 8, 8);
        float[][] plain = run((ops, p) -> ops.linear(ops.linear(ops.linear(p[0], p[1]), p[1]), p[1]), x, w);
        float[][] blocked = run((ops, p) -> {
            Tensor h = p[0];
            for (int i = 0; i < 3; i++) {
                Tensor in = h;
                ops.tape().beginBlock();
                h = ops.linear(h, p[1]);
                ops.tape().endBlock(in);
            }
            return h;
        }, x, w);
        assertClose(plain, blocked, "blocks");
    }
}
