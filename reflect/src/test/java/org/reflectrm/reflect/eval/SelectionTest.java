package org.reflectrm.reflect.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;

class SelectionTest {
    /** 30 "chat" groups and 10 "math" groups of 3 comparisons each. */
    private static List<Comparison> benchmark() {
        List<Comparison> out = new ArrayList<>();
        for (int g = 0; g < 40; g++) {
            String subset = g < 30 ? "chat" : "math";
            for (int k = 0; k < 3; k++) {
                out.add(new Comparison("g" + g + ":" + k, "g" + g, subset, List.of(ChatMessage.user("q" + g)), "a", "b",
                        "A", null));
            }
        }
        return out;
    }

    private static Map<String, Long> groupsBySubset(List<Comparison> cs) {
        return cs.stream().collect(Collectors.groupingBy(Comparison::subset,
                Collectors.mapping(Comparison::group, Collectors.collectingAndThen(Collectors.toSet(), s -> (long) s.size()))));
    }

    @Test
    void aStratifiedSampleKeepsWholeGroupsInProportion() {
        List<Comparison> s = Selection.select(benchmark(), null, 0, 8, 3);
        assertEquals(24, s.size(), "8 whole groups of 3");
        assertEquals(Map.of("chat", 6L, "math", 2L), groupsBySubset(s));
        assertEquals(s, Selection.select(benchmark(), null, 0, 8, 3), "seeded");
        assertNotEquals(s, Selection.select(benchmark(), null, 0, 8, 4), "another seed, another sample");
    }

    @Test
    void limitTakesTheFirstGroupsAndSubsetFilters() {
        List<Comparison> first = Selection.select(benchmark(), null, 2, 0, 0);
        assertEquals(List.of("g0:0", "g0:1", "g0:2", "g1:0", "g1:1", "g1:2"), first.stream().map(Comparison::id).toList());
        List<Comparison> math = Selection.select(benchmark(), "math", 0, 0, 0);
        assertEquals(30, math.size());
        assertTrue(math.stream().allMatch(c -> c.subset().equals("math")));
        BadInputException e = assertThrows(BadInputException.class, () -> Selection.select(benchmark(), "code", 0, 0, 0));
        assertTrue(e.getMessage().contains("--subset code") && e.getMessage().contains("[chat, math]"), e.getMessage());
        assertThrows(BadInputException.class, () -> Selection.select(benchmark(), null, 2, 2, 0));
        assertEquals(120, Selection.select(benchmark(), null, 0, 500, 0).size(), "a sample larger than the file is all of it");
    }
}
