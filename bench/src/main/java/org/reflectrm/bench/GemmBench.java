package org.reflectrm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * F32 GEMM as a linear layer computes it, {@code C = A · Wᵀ} (transA = false, transB = true),
 * square sizes. The {@code gflop} secondary result is GFLOPS (2·n³ per call); compare it with
 * {@code bench/numpy_gemm.py} on the same machine and thread count.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
@State(Scope.Benchmark)
public class GemmBench {
    @Param({"1024", "2048", "4096"})
    public int size;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private CpuBackend backend;
    private MemorySegment a;
    private MemorySegment w;
    private MemorySegment c;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        long n = (long) size * size;
        a = BenchData.f32(arena, n, 1);
        w = BenchData.f32(arena, n, 2);
        c = arena.allocate(4 * n, 64);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void gemm(Flops flops) {
        backend.matmul(a, 0, false, w, 0, DType.F32, true, c, 0, size, size, size, false);
        flops.gflop += 2.0 * size * size * size / 1e9;
    }

    /** Floating-point work done, reported per second: GFLOPS. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }
}
