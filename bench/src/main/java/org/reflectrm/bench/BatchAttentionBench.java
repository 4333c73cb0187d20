package org.reflectrm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
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
import org.reflectrm.kernels.Bf16;
import org.reflectrm.kernels.CacheAttention;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/**
 * One decode attention step of a batch: {@code batch} sequences of one token each (16 query
 * heads, 8 KV heads, head_dim 128, as Qwen3-0.6B), each against its own KV cache of
 * {@code cacheLength} positions in {@code kv} (F32 or BF16), in one batched call. Each call
 * uses the next of {@link #LAYERS} sets of caches, which together exceed the last-level cache as
 * a model's 28 layers do, so the caches are read from memory. The primary score is calls (one
 * layer's attention) per second; {@code gbyte} is GB/s of K and V read.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
@State(Scope.Benchmark)
public class BatchAttentionBench {
    private static final int HEADS = 16;
    private static final int KV_HEADS = 8;
    private static final int HEAD_DIM = 128;
    private static final int LAYERS = 8;

    @Param({"600"})
    public int cacheLength;

    @Param({"8"})
    public int batch;

    @Param({"F32", "BF16"})
    public String kv;

    @Param({"2"})
    public int threads;

    /** rows: {@code [positions, kvHeads, headDim]}; heads: each KV head's positions contiguous (one call per head). */
    @Param({"rows", "heads"})
    public String layout;

    private Arena arena;
    private CpuBackend backend;
    private final List<List<CacheAttention>> layers = new ArrayList<>();
    private int next;
    private double bytesPerStep;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        backend = new CpuBackend(threads);
        DType type = DType.valueOf(kv);
        long cache = (long) cacheLength * KV_HEADS * HEAD_DIM;
        MemorySegment q = BenchData.f32(arena, (long) batch * HEADS * HEAD_DIM, 1);
        MemorySegment out = arena.allocate(4L * batch * HEADS * HEAD_DIM, 64);
        AttentionShape shape = new AttentionShape(1, cacheLength - 1, HEADS, KV_HEADS, HEAD_DIM,
                (float) (1 / Math.sqrt(HEAD_DIM)));
        for (int layer = 0; layer < LAYERS; layer++) {
            List<CacheAttention> calls = new ArrayList<>();
            for (int s = 0; s < batch; s++) {
                long seed = 2L * (layer * batch + s);
                MemorySegment k = cache(BenchData.f32(arena, cache, seed + 2), cache, type);
                MemorySegment v = cache(BenchData.f32(arena, cache, seed + 3), cache, type);
                long at = (long) s * HEADS * HEAD_DIM;
                if (layout.equals("rows")) {
                    calls.add(new CacheAttention(q, at, k, 0, v, 0, 0, k, 0, v, 0, type, out, at, shape));
                    continue;
                }
                AttentionShape one = new AttentionShape(1, cacheLength - 1, HEADS / KV_HEADS, 1, HEAD_DIM,
                        (float) (1 / Math.sqrt(HEAD_DIM)));
                for (int g = 0; g < KV_HEADS; g++) {
                    long kvAt = (long) g * cacheLength * HEAD_DIM;
                    long qAt = at + (long) g * (HEADS / KV_HEADS) * HEAD_DIM;
                    calls.add(new CacheAttention(q, qAt, k, kvAt, v, kvAt, 0, k, kvAt, v, kvAt, type, out, qAt, one));
                }
            }
            layers.add(calls);
        }
        bytesPerStep = 2.0 * batch * type.bytes(cache);
    }

    /** F32 values as a cache of {@code type}: themselves, or rounded to BF16. */
    private MemorySegment cache(MemorySegment f32, long n, DType type) {
        if (type == DType.F32) {
            return f32;
        }
        MemorySegment b = arena.allocate(2 * n, 64);
        for (long i = 0; i < n; i++) {
            b.setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i,
                    Bf16.round(f32.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i)));
        }
        return b;
    }

    @TearDown
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public void decodeStep(Gigabytes bytes) {
        backend.attention(layers.get(next));
        next = (next + 1) % LAYERS;
        bytes.gbyte += bytesPerStep / 1e9;
    }
}
