package org.reflectrm.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures how fast this machine streams memory into registers: every thread sums its share of
 * a buffer far larger than the caches, best of several passes. Decode speed is judged against it.
 */
final class ReadBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final long BYTES = 1L << 30;

    private ReadBandwidth() {
    }

    /** Bytes per second. */
    static double measure(int threads) throws Exception {
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            MemorySegment buffer = arena.allocate(BYTES, 64);
            buffer.fill((byte) 1);
            long share = BYTES / threads / F.vectorByteSize() * F.vectorByteSize();
            double best = 0;
            for (int pass = 0; pass < 5; pass++) {
                long start = System.nanoTime();
                List<Future<Float>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long from = t * share;
                    parts.add(pool.submit(() -> sum(buffer, from, from + share)));
                }
                float total = 0;
                for (Future<Float> f : parts) {
                    total += f.get();
                }
                long nanos = System.nanoTime() - start;
                if (Float.isNaN(total)) {
                    throw new IllegalStateException("unreachable: keeps the sum alive");
                }
                best = Math.max(best, share * threads / (nanos / 1e9));
            }
            return best;
        }
    }

    private static float sum(MemorySegment s, long from, long to) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        long step = F.vectorByteSize();
        for (long i = from; i + 4 * step <= to; i += 4 * step) {
            a = a.add(FloatVector.fromMemorySegment(F, s, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, s, i + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(F, s, i + 2 * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(F, s, i + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c).add(d).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
