package org.reflectrm.model.judge;

import java.nio.charset.StandardCharsets;
import org.reflectrm.model.train.data.Shuffle;

/**
 * A seed per judged item, derived from the run's seed and the item's id. Judging many pairs with
 * one seed would give every pair the same random draws: the same reflection orders (with seed 0,
 * the anchor's critique was shown first in 83% of a batch's reflections, so a judge that favours
 * the first critique sided with its anchor) and the same sampling streams. Tied to the id, not
 * to the position, a pair's draws survive resumes, reordering and added pairs.
 */
public final class ItemSeeds {
    private ItemSeeds() {
    }

    /** The seed of the item {@code id} in a run seeded with {@code seed}. */
    public static long of(long seed, String id) {
        return Shuffle.derive(seed, idHash(id));
    }

    /**
     * 64-bit FNV-1a of the id's UTF-8 bytes: defined the same on every JVM (unlike
     * {@code String.hashCode}, and it spreads short ids over 64 bits). Every per-id random draw
     * of the project (pair placement, sampling and reflection seeds) hashes ids with it.
     */
    public static long idHash(String id) {
        long h = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
