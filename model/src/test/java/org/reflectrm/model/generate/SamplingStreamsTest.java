package org.reflectrm.model.generate;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The N rollouts of one prompt (a judge's votes, a GRPO group) draw from independent random
 * streams. Streams seeded {@code seed + j·γ}, with γ the generator's own increment, once made
 * stream j stream j−1 advanced by one draw: each rollout sampled its neighbour's next numbers,
 * and with a model whose distribution changes little from token to token the rollouts came out
 * as shifted copies of each other.
 */
class SamplingStreamsTest {
    @Test
    void noStreamRepeatsAnotherStreamsDraws() {
        for (long seed : new long[] {0, 1, 42, -7, 0x9E3779B97F4A7C15L}) {
            Set<Long> seen = new HashSet<>();
            int draws = 0;
            for (int j = 0; j < 16; j++) {
                SplittableRandom stream = new SplittableRandom(Generator.streamSeed(seed, j));
                for (int t = 0; t < 1000; t++, draws++) {
                    seen.add(stream.nextLong());
                }
            }
            assertTrue(seen.size() == draws, "seed " + seed + ": " + (draws - seen.size()) + " draws repeated across streams");
        }
    }

    @Test
    void theOldStrideWasOneStreamShifted() {
        // What the test above guards against: with the stride γ, stream 1 is stream 0 one draw later.
        long gamma = 0x9E3779B97F4A7C15L;
        SplittableRandom zero = new SplittableRandom(5), one = new SplittableRandom(5 + gamma);
        zero.nextLong();
        assertTrue(zero.nextLong() == one.nextLong());
    }
}
