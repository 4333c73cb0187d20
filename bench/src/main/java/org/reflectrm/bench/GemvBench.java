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
 * Decode's linear layer: one token (m = 1) against BF16 weights {@code W[n, k]}. The
 * {@code gbyte} secondary result is GB/s of weights read; compare it with
 * {@link ReadBandwidthBench} (or {@code bench/read_bandwidth.sh}). Shapes: Qwen3-0.6B's MLP
 * up/gate (3072×1024) and down (1024×3072) projections, the LM head (151936×1024, 311 MB), and
 * a 1 GiB matrix (524288×1024) that no cache can hold: the test VM reports a 300 MB L3, so part
 * of the LM head may stay cached between calls and its GB/s can exceed what DRAM delivers.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
@State(Scope.Benchmark)
public class GemvBench {
    /** n×k: output features × input features. */
    @Param({"3072x1024", "1024x3072", "151936x1024", "524288x1024"})
    public String shape;

    @Param({"2"})
    public int threads;

    private int n;
    private int k;
    private Arena arena;
    private CpuBackend backend;
    private MemorySegment x;
    private MemorySegment w;
    private MemorySegment y;

    @Setup
    public void setup() {
        String[] nk = shape.split("x");
        n = Integer.parseInt(nk[0]);
        k = Integer.parseInt(nk[1]);
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        x = BenchData.f32(arena, k, 1);
        w = BenchData.bf16(arena, (long) n * k, 2);
        y = arena.allocate(4L * n, 64);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void gemv(Gigabytes bytes) {
        backend.matmul(x, 0, false, w, 0, DType.BF16, true, y, 0, 1, n, k, false);
        bytes.gbyte += 2.0 * n * k / 1e9;
    }
}
