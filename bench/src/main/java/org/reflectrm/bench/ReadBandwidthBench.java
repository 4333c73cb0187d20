package org.reflectrm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The memory read bandwidth that {@link GemvBench} is measured against: two threads each summing
 * their half of a 1 GB off-heap segment (far larger than the caches) with the Vector API. The
 * {@code gbyte} secondary result, summed over both threads, is GB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx8g"})
@Threads(2)
@State(Scope.Benchmark)
public class ReadBandwidthBench {
    private static final long BYTES = 1L << 30;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Arena arena;
    private MemorySegment data;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        data = BenchData.f32(arena, BYTES / 4, 1);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** This thread's share of the segment, in bytes. */
    @State(Scope.Thread)
    public static class Part {
        long from;
        long to;

        @Setup
        public void setup(ThreadParams t) {
            long per = BYTES / t.getThreadCount();
            from = per * t.getThreadIndex();
            to = from + per;
        }
    }

    @Benchmark
    public float sum(Part part, Gigabytes bytes) {
        // Four accumulators, so the adds never wait on each other and only memory limits the loop.
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = s0;
        FloatVector s2 = s0;
        FloatVector s3 = s0;
        long step = 4L * F.vectorByteSize();
        for (long at = part.from; at < part.to; at += step) {
            s0 = s0.add(FloatVector.fromMemorySegment(F, data, at, ByteOrder.LITTLE_ENDIAN));
            s1 = s1.add(FloatVector.fromMemorySegment(F, data, at + F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            s2 = s2.add(FloatVector.fromMemorySegment(F, data, at + 2L * F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            s3 = s3.add(FloatVector.fromMemorySegment(F, data, at + 3L * F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
        }
        bytes.gbyte += (part.to - part.from) / 1e9;
        return s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    }
}
