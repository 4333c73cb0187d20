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
 * One decode attention step: a single token (16 query heads, 8 KV heads, head_dim 128, as
 * Qwen3-0.6B) against an F32 KV cache holding {@code cacheLength} positions. The primary score
 * is steps per second; {@code gbyte} is GB/s of K and V read.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
@State(Scope.Benchmark)
public class AttentionBench {
    private static final int HEADS = 16;
    private static final int KV_HEADS = 8;
    private static final int HEAD_DIM = 128;

    @Param({"512", "2048"})
    public int cacheLength;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private CpuBackend backend;
    private MemorySegment q;
    private MemorySegment k;
    private MemorySegment v;
    private MemorySegment out;
    private AttentionShape shape;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        long cache = (long) cacheLength * KV_HEADS * HEAD_DIM;
        q = BenchData.f32(arena, HEADS * HEAD_DIM, 1);
        k = BenchData.f32(arena, cache, 2);
        v = BenchData.f32(arena, cache, 3);
        out = arena.allocate(4L * HEADS * HEAD_DIM, 64);
        shape = new AttentionShape(1, cacheLength - 1, HEADS, KV_HEADS, HEAD_DIM, (float) (1 / Math.sqrt(HEAD_DIM)));
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void decodeStep(Gigabytes bytes) {
        backend.attention(q, 0, k, 0, v, 0, out, 0, shape);
        bytes.gbyte += 2.0 * 4 * cacheLength * KV_HEADS * HEAD_DIM / 1e9;
    }
}
