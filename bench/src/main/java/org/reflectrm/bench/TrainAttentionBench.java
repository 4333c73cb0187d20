package org.reflectrm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * Causal self-attention of one sequence as training runs it: the blocked forward and the
 * recomputing backward. Shapes: {@code small} is the training benchmark's model (256 tokens,
 * 4 query / 2 KV heads, head_dim 64), {@code qwen3} Qwen3-0.6B's heads at 1,024 tokens (16 / 8,
 * head_dim 128). Scores are calls per second.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class TrainAttentionBench {
    @Param({"small", "qwen3"})
    public String shapeName;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private CpuBackend backend;
    private MemorySegment q, k, v, out, dOut, dq, dk, dv;
    private AttentionShape shape;

    @Setup
    public void setup() {
        boolean small = shapeName.equals("small");
        int tokens = small ? 256 : 1024, heads = small ? 4 : 16, kvHeads = small ? 2 : 8, headDim = small ? 64 : 128;
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        long qn = (long) tokens * heads * headDim, kn = (long) tokens * kvHeads * headDim;
        q = BenchData.f32(arena, qn, 1);
        k = BenchData.f32(arena, kn, 2);
        v = BenchData.f32(arena, kn, 3);
        dOut = BenchData.f32(arena, qn, 4);
        out = arena.allocate(4 * qn, 64);
        dq = arena.allocate(4 * qn, 64);
        dk = arena.allocate(4 * kn, 64);
        dv = arena.allocate(4 * kn, 64);
        shape = new AttentionShape(tokens, 0, heads, kvHeads, headDim, (float) (1 / Math.sqrt(headDim)));
        backend.attention(q, 0, k, 0, v, 0, out, 0, shape);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void forward() {
        backend.attention(q, 0, k, 0, v, 0, out, 0, shape);
    }

    @Benchmark
    public void backward() {
        backend.attentionBackward(q, 0, k, 0, v, 0, out, 0, dOut, 0, dq, 0, dk, 0, dv, 0, shape);
    }
}
