package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.reflectrm.model.judge.PairRecord;

/** The shown order: a seeded coin per pair id, the label following the better response into its slot. */
class ShownPairTest {
    private static PairRecord pair(String id, String label) throws Exception {
        return PairRecord.parse("{\"id\": \"" + id + "\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\""
                + (label == null ? "" : ", \"label\": \"" + label + "\"") + "}", 1, 0);
    }

    @Test
    void theBetterResponseKeepsItsLabelInEitherOrder() throws Exception {
        int ab = 0, ba = 0;
        for (int i = 0; i < 40; i++) {
            for (String label : new String[] {"A", "B"}) {
                ShownPair s = ShownPair.of(pair("p" + i, label), 7);
                String better = label.equals("A") ? "a" : "b";
                String shownBetter = s.label().equals("A") ? s.response1() : s.response2();
                assertEquals(better, shownBetter, s.toString());
                if (s.order().equals("AB")) {
                    ab++;
                    assertEquals("a", s.response1());
                    assertEquals(label, s.label());
                } else {
                    ba++;
                    assertEquals("BA", s.order());
                    assertEquals("b", s.response1());
                    assertEquals(label.equals("A") ? "B" : "A", s.label());
                }
                assertEquals(s.response1(), s.item().response1());
                assertEquals(s.response2(), s.item().response2());
            }
        }
        assertTrue(ab > 20 && ba > 20, "both orders are used: " + ab + " AB, " + ba + " BA");
    }

    @Test
    void theCoinDependsOnSeedAndIdOnly() {
        int differ = 0;
        for (int i = 0; i < 64; i++) {
            assertEquals(ShownPair.swapped(3, "id-" + i), ShownPair.swapped(3, "id-" + i));
            differ += ShownPair.swapped(3, "id-" + i) != ShownPair.swapped(4, "id-" + i) ? 1 : 0;
        }
        assertTrue(differ > 10 && differ < 54, "another seed, other coins: " + differ + " of 64 differ");
    }

    /** Chosen/rejected input is placed by PairRecord's coin from the same seed; the order coin must not repeat it. */
    @Test
    void theChosenResponseIsNotAlwaysShownFirst() throws Exception {
        int chosenFirst = 0;
        for (int i = 0; i < 100; i++) {
            PairRecord p = PairRecord.parse("{\"id\": \"c" + i + "\", \"prompt\": \"q\", \"chosen\": \"good\", "
                    + "\"rejected\": \"bad\"}", 1, 11);
            ShownPair s = ShownPair.of(p, 11);
            chosenFirst += s.response1().equals("good") ? 1 : 0;
            assertEquals(s.label().equals("A") ? s.response1() : s.response2(), "good");
        }
        assertTrue(chosenFirst > 30 && chosenFirst < 70, chosenFirst + " of 100 shown chosen first");
    }

    @Test
    void anUnlabelledPairIsRefused() throws Exception {
        PairRecord p = pair("x", null);
        assertThrows(IllegalArgumentException.class, () -> ShownPair.of(p, 0));
    }
}
