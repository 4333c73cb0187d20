package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Per-item seeds: FNV-1a as published, and distinct, stable seeds per id and run seed. */
class ItemSeedsTest {
    @Test
    void hashesIdsWithFnv1aAsPublished() {
        // The FNV-1a 64-bit test vectors of its authors: "" and "a".
        assertEquals(0xcbf29ce484222325L, ItemSeeds.idHash(""));
        assertEquals(0xaf63dc4c8601ec8cL, ItemSeeds.idHash("a"));
        assertEquals(0x85944171f73967e8L, ItemSeeds.idHash("foobar"));
    }

    @Test
    void everyIdAndRunSeedGetsItsOwnSeed() {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            seen.add(ItemSeeds.of(0, "toy-heldout-1-" + i));
        }
        assertEquals(10_000, seen.size());
        assertEquals(ItemSeeds.of(7, "p1"), ItemSeeds.of(7, "p1"));
        assertNotEquals(ItemSeeds.of(7, "p1"), ItemSeeds.of(8, "p1"));
    }
}
