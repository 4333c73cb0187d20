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
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * Batched decode's linear layer: {@code rows} tokens (one per sequence) against weights
 * {@code W[3072, 1024]} (Qwen3-0.6B's gate/up projection) of each dtype. Operations/s times
 * {@code 2·rows·3072·1024} is the FLOP rate; at one row the layer is bound by reading W.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class DecodeBatchBench {
    private static final int N = 3072;
    private static final int K = 1024;

    @Param({"1", "4", "8"})
    public int rows;

    @Param({"BF16", "F32", "Q8"})
    public String dtype;

    @Param({"2"})
    public int threads;

    private DType type;
    private Arena arena;
    private CpuBackend backend;
    private MemorySegment x;
    private MemorySegment w;
    private MemorySegment y;

    @Setup
    public void setup() {
        type = DType.valueOf(dtype);
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        x = BenchData.f32(arena, (long) rows * K, 1);
        w = switch (type) {
            case BF16 -> BenchData.bf16(arena, (long) N * K, 2);
            case Q8 -> BenchData.q8(arena, (long) N * K, 2);
            default -> BenchData.f32(arena, (long) N * K, 2);
        };
        y = arena.allocate(4L * rows * N, 64);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void linear() {
        backend.matmul(x, 0, false, w, 0, type, true, y, 0, rows, N, K, false);
    }
}
