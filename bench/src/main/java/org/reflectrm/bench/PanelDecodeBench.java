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
import org.reflectrm.kernels.cpu.Panels;

/**
 * Batched decode's linear layer on BF16 or 8-bit weights in their row layout ({@code rows}, a
 * backend with no panel budget) against the same weights repacked into panels ({@code panels},
 * see {@link Panels}, which the backend picks for 3 (BF16) or 2 (8-bit) to 31 rows), side by
 * side. Operations/s times {@code 2·rows·n·1024} is the FLOP rate. Shapes: Qwen3-0.6B's gate/up
 * projection (its 6 MB stay in cache) and its LM head (311 MB in BF16, 175 MB in 8 bits, read
 * from memory). {@code -p type=Q8} runs the 8-bit cases only.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class PanelDecodeBench {
    private static final int K = 1024;

    @Param({"3072", "151936"})
    public int n;

    @Param({"2", "4", "8", "16"})
    public int batch;

    @Param({"2"})
    public int threads;

    /** The stored weight type: BF16 or Q8. */
    @Param({"BF16", "Q8"})
    public DType type;

    private Arena arena;
    private CpuBackend backend;
    private CpuBackend rowsOnly;
    private MemorySegment x;
    private MemorySegment w;
    private Panels panels;
    private MemorySegment y;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        rowsOnly = new CpuBackend(threads, 0);
        x = BenchData.f32(arena, (long) batch * K, 1);
        w = type == DType.Q8 ? BenchData.q8(arena, (long) n * K, 2) : BenchData.bf16(arena, (long) n * K, 2);
        panels = Panels.pack(type, w, 0, n, K, arena);
        y = arena.allocate(4L * batch * n, 64);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        rowsOnly.close();
        arena.close();
    }

    @Benchmark
    public void rows() {
        rowsOnly.matmul(x, 0, false, w, 0, type, true, y, 0, batch, n, K, false);
    }

    @Benchmark
    public void panels() {
        backend.matmul(x, 0, panels, y, 0, batch);
    }
}
