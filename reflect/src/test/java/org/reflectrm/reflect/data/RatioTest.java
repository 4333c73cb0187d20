package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/** The Pref:Refl mix: the largest that fits, the larger side cut, nothing invented. */
class RatioTest {
    @Test
    void parses() {
        assertEquals(new Ratio(4, 1), Ratio.parse("4:1"));
        assertEquals(new Ratio(2, 3), Ratio.parse(" 2 : 3 "));
        for (String text : new String[] {"4", "4:0", "0:1", "a:b", "-1:2", "1:2:3", "", "1.5:1"}) {
            BadInputException e = assertThrows(BadInputException.class, () -> Ratio.parse(text), text);
            assertTrue(e.getMessage().startsWith("--pref-refl-ratio"), e.getMessage());
        }
        assertTrue(assertThrows(BadInputException.class, () -> Ratio.parse("4:0")).getMessage().contains("--pref-only"));
    }

    @Test
    void mixesWithoutInventing() {
        Ratio four = new Ratio(4, 1);
        assertEquals(new Ratio.Mix(10, 2), four.mix(10, 5), "Refl cut to a quarter of Pref");
        assertEquals(new Ratio.Mix(4, 1), four.mix(10, 1), "Pref cut to four per Refl");
        assertEquals(new Ratio.Mix(8, 2), four.mix(8, 2), "exact: nothing cut");
        assertEquals(new Ratio.Mix(6, 6), new Ratio(1, 1).mix(6, 6));
        assertEquals(new Ratio.Mix(2, 2), new Ratio(1, 1).mix(6, 2));
        assertEquals(new Ratio.Mix(2, 8), new Ratio(1, 4).mix(8, 8));
        assertEquals(new Ratio.Mix(2_000_000_000, 1_000_000_000),
                new Ratio(2, 1).mix(2_000_000_000, 1_500_000_000), "no int overflow");
        BadInputException e = assertThrows(BadInputException.class, () -> four.mix(3, 3));
        assertTrue(e.getMessage().contains("impossible") && e.getMessage().contains("no Refl record"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> new Ratio(1, 4).mix(3, 3));
        assertTrue(e.getMessage().contains("no Pref record"), e.getMessage());
    }
}
