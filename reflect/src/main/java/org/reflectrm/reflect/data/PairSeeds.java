package org.reflectrm.reflect.data;

import org.reflectrm.model.judge.ItemSeeds;
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
        return Shuffle.derive(Shuffle.derive(seed, stream), ItemSeeds.idHash(id));
    }
}
