package org.reflectrm.model.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/** Micro-batching (PAD and PACK), per-epoch shuffling and the train/eval split. */
class SftBatcherTest {

    /** Synthetic examples of varied lengths: token i = i, targets on the second half. */
    static List<SftExample> examples(int n, int maxLen, long seed) {
        Random r = new Random(seed);
        List<SftExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 2 + r.nextInt(maxLen - 1);
            int[] t = new int[len];
            boolean[] m = new boolean[len];
            for (int k = 0; k < len; k++) {
                t[k] = k;
                m[k] = k >= len / 2;
            }
            out.add(new SftExample("e" + i, t, m));
        }
        return out;
    }

    static List<String> ids(List<MicroBatch> batches) {
        List<String> out = new ArrayList<>();
        batches.forEach(b -> out.addAll(b.ids()));
        return out;
    }

    @Test
    void padGroupsFixedCounts() {
        List<SftExample> ex = examples(23, 50, 1);
        SftBatcher b = new SftBatcher(ex, SftBatcher.Mode.PAD, 4, 50, 7);
        List<MicroBatch> e0 = b.epoch(0);
        assertEquals(6, e0.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(4, e0.get(i).size());
        }
        assertEquals(3, e0.get(5).size());
        assertEquals(Set.copyOf(ex.stream().map(SftExample::id).toList()), new HashSet<>(ids(e0)));
        assertEquals(23, ids(e0).size());
    }

    @Test
    void packFillsTokenBudget() {
        int maxLen = 64;
        List<SftExample> ex = examples(200, maxLen, 2);
        SftBatcher b = new SftBatcher(ex, SftBatcher.Mode.PACK, 3, maxLen, 11);
        List<MicroBatch> e0 = b.epoch(0);
        List<String> order = ids(e0);
        assertEquals(200, order.size());
        assertEquals(200, new HashSet<>(order).size());
        int total = ex.stream().mapToInt(SftExample::length).sum();
        assertEquals(total, e0.stream().mapToInt(MicroBatch::tokenCount).sum());
        for (int i = 0; i < e0.size(); i++) {
            MicroBatch mb = e0.get(i);
            assertTrue(mb.tokenCount() <= 3 * maxLen);
            if (i + 1 < e0.size()) {
                // next-fit: the next batch's first sequence did not fit
                assertTrue(mb.tokenCount() + e0.get(i + 1).sequences().getFirst().length > 3 * maxLen);
            }
        }
    }

    @Test
    void microBatchHoldsPredictMasksAndTargetCount() {
        List<SftExample> ex = examples(10, 30, 3);
        for (SftBatcher.Mode mode : SftBatcher.Mode.values()) {
            for (MicroBatch mb : new SftBatcher(ex, mode, 2, 30, 5).epoch(1)) {
                int targets = 0;
                for (int s = 0; s < mb.size(); s++) {
                    int[] seq = mb.sequences().get(s);
                    boolean[] pm = mb.predictMasks().get(s);
                    SftExample src = ex.get(Integer.parseInt(mb.ids().get(s).substring(1)));
                    assertArrayEquals(src.tokens(), seq);
                    assertEquals(seq.length - 1, pm.length);
                    for (int t = 0; t < pm.length; t++) {
                        assertEquals(src.lossMask()[t + 1], pm[t]);
                        targets += pm[t] ? 1 : 0;
                    }
                }
                assertEquals(targets, mb.targetTokens());
            }
        }
    }

    @Test
    void shufflingIsSeededPerEpoch() {
        List<SftExample> ex = examples(40, 20, 4);
        SftBatcher a = new SftBatcher(ex, SftBatcher.Mode.PAD, 3, 20, 99);
        SftBatcher b = new SftBatcher(ex, SftBatcher.Mode.PAD, 3, 20, 99);
        assertEquals(ids(a.epoch(0)), ids(b.epoch(0)));
        assertEquals(ids(a.epoch(3)), ids(b.epoch(3)));
        assertEquals(ids(a.epoch(1)), ids(a.epoch(1)));
        assertNotEquals(ids(a.epoch(0)), ids(a.epoch(1)));
        assertNotEquals(ids(a.epoch(0)), ids(new SftBatcher(ex, SftBatcher.Mode.PAD, 3, 20, 100).epoch(0)));
        assertNotEquals(ex.stream().map(SftExample::id).toList(), ids(a.epoch(0)));
        assertEquals(ex.stream().map(SftExample::id).toList(), ids(a.inOrder()));
        // pinned: java.util.Random Fisher-Yates and the SplitMix64 seed derivation give the same order on every JVM
        assertArrayEquals(new int[] {2, 7, 5, 6, 3, 1, 4, 0}, Shuffle.permutation(8, Shuffle.derive(99, 0)));
    }

    @Test
    void rejectsExamplesLongerThanMaxLen() {
        List<SftExample> ex = examples(5, 40, 5);
        assertThrows(IllegalArgumentException.class, () -> new SftBatcher(ex, SftBatcher.Mode.PACK, 2, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new SftBatcher(ex, SftBatcher.Mode.PAD, 0, 40, 0));
    }

    @Test
    void splitIsDeterministicAndDisjoint() {
        List<SftExample> ex = examples(50, 20, 6);
        SftDataset.Split s1 = SftDataset.split(ex, 7, 123);
        SftDataset.Split s2 = SftDataset.split(ex, 7, 123);
        assertEquals(s1.eval(), s2.eval());
        assertEquals(s1.train(), s2.train());
        assertEquals(7, s1.eval().size());
        assertEquals(43, s1.train().size());
        Set<SftExample> all = new HashSet<>(s1.train());
        all.addAll(s1.eval());
        assertEquals(50, all.size());
        // each part keeps input order
        assertEquals(s1.eval().stream().sorted((a, b) -> Integer.compare(ex.indexOf(a), ex.indexOf(b))).toList(),
                s1.eval());
        assertNotEquals(s1.eval(), SftDataset.split(ex, 7, 124).eval());
        assertEquals(5, SftDataset.splitFraction(ex, 0.1, 1).eval().size());
        assertEquals(1, SftDataset.splitFraction(ex, 0.001, 1).eval().size());
        assertEquals(0, SftDataset.splitFraction(ex, 0, 1).eval().size());
        assertThrows(BadInputException.class, () -> SftDataset.split(ex, 50, 1));
        assertThrows(BadInputException.class, () -> SftDataset.splitFraction(ex, 1.0, 1));
        assertThrows(BadInputException.class, () -> SftDataset.splitFraction(ex, Double.NaN, 1));
    }
}
