package org.reflectrm.reflect.data;

import java.nio.charset.StandardCharsets;
import org.reflectrm.model.train.data.Shuffle;

/**
 * Seeds tied to a pair's id rather than to its position, so a pair's random choices (the order
 * it is shown in, which analyses make its Refl record) stay the same when a run resumes, when the
 * file is reordered, or when other pairs are added.
 */
final class PairSeeds {
    /** The coin that decides whether a pair is shown A first or B first. */
    static final long ORDER = 1;
    /** Which correct and which incorrect analysis make a pair's Refl record, and their order. */
    static final long REFLECTION = 2;
    /** The random streams of a pair's sampled analyses. */
    static final long SAMPLING = 3;

    private PairSeeds() {
    }

    /** The seed of stream {@code stream} for pair {@code id} under the run's {@code seed}. */
    static long of(long seed, long stream, String id) {
        return Shuffle.derive(Shuffle.derive(seed, stream), idHash(id));
    }

    /**
     * 64-bit FNV-1a of the id's UTF-8 bytes: fixed by its definition on every JVM (unlike a
     * future {@code String.hashCode}-based scheme, it also spreads short ids over 64 bits).
     */
    static long idHash(String id) {
        long h = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
