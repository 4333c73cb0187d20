package org.reflectrm.reflect.eval.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.reflectrm.reflect.eval.Comparison;

/**
 * The placement coin: per comparison id and seed, so a file reordered, cut or resumed places every
 * comparison as before, and both slots get the chosen response about equally often.
 */
class AdapterPlacementTest {

    private static Map<String, Comparison> byId(BenchmarkFiles.Loaded l) {
        Map<String, Comparison> m = new HashMap<>();
        for (Comparison c : l.comparisons()) {
            m.put(c.id(), c);
        }
        return m;
    }

    private static BenchmarkFiles.Loaded reversed(String sample, long seed) throws Exception {
        List<String> lines = new ArrayList<>(List.of(
                new String(Samples.bytes(sample), StandardCharsets.UTF_8).strip().split("\n")));
        Collections.reverse(lines);
        return BenchmarkFiles.read(String.join("\n", lines).getBytes(StandardCharsets.UTF_8), sample, null, seed);
    }

    @Test
    void theSameSeedPlacesEveryComparisonTheSameWayInAnyFileOrder() throws Exception {
        for (String sample : List.of("rewardbench.jsonl", "rewardbench2.jsonl", "ppe.jsonl", "helpsteer3.jsonl",
                "pairs.jsonl", "judgebench.jsonl")) {
            BenchmarkFiles.Loaded once = Samples.load(sample, 11);
            assertEquals(once, Samples.load(sample, 11), sample);
            Map<String, Comparison> forward = byId(once);
            Map<String, Comparison> backward = byId(reversed(sample, 11));
            assertEquals(forward, backward, sample);
        }
    }

    @Test
    void theCoinDependsOnTheSeedAndIdOnlyAndIsFair() {
        int a = 0;
        int differs = 0;
        for (int i = 0; i < 2000; i++) {
            String id = "item-" + i;
            boolean first = Adapters.chosenIsA(7, id);
            assertEquals(first, Adapters.chosenIsA(7, id));
            if (first) {
                a++;
            }
            if (first != Adapters.chosenIsA(8, id)) {
                differs++;
            }
        }
        assertTrue(a > 900 && a < 1100, a + " of 2000 chosen in A");
        assertTrue(differs > 900 && differs < 1100, differs + " of 2000 placed differently under another seed");
        // Pinned, so a change to the coin (which would silently re-place every benchmark) is seen.
        assertEquals(List.of(false, true, false, true, false, false, true, false),
                List.of("4107:0:0", "4107:0:1", "31", "31:0", "bon-7702:2", "10233", "hs3-0", "x").stream()
                        .map(id -> Adapters.chosenIsA(42, id)).toList());
    }

    @Test
    void placementFollowsTheCoinAcrossTheSamples() throws Exception {
        int chosenInA = 0, total = 0;
        for (String[] s : Samples.ALL) {
            if (s[1].equals("judgebench") || s[1].equals("pairs")) {
                continue; // their own placement: the file's, and PairRecord's coin for chosen/rejected
            }
            for (Comparison c : Samples.load(s[0], 42).comparisons()) {
                assertEquals(Adapters.chosenIsA(42, c.id()) ? "A" : "B", c.label(), c.id());
                chosenInA += c.label().equals("A") ? 1 : 0;
                total++;
            }
        }
        assertTrue(chosenInA > 0 && chosenInA < total, chosenInA + " of " + total);
    }

    @Test
    void helpSteer3IdsComeFromTheContentAndRepeatsAreNumbered() {
        String rec = "{\"domain\": \"general\", \"context\": [{\"role\": \"user\", \"content\": \"q\"}], \"response1\": \"a\","
                + " \"response2\": \"b\", \"overall_preference\": 1}";
        String other = rec.replace("\"a\"", "\"c\"");
        BenchmarkFiles.Loaded l = BenchmarkFiles.read((rec + "\n" + other + "\n" + rec).getBytes(StandardCharsets.UTF_8),
                "hs3.jsonl", null, 0);
        List<String> ids = l.comparisons().stream().map(Comparison::id).toList();
        assertEquals(ids.get(0) + "#2", ids.get(2));
        assertNotEquals(ids.get(0), ids.get(1));
        // Key order inside a turn does not change the id.
        String swapped = rec.replace("{\"role\": \"user\", \"content\": \"q\"}", "{\"content\": \"q\", \"role\": \"user\"}");
        assertEquals(ids.get(0), BenchmarkFiles.read(swapped.getBytes(StandardCharsets.UTF_8), "hs3.jsonl", null, 0)
                .comparisons().getFirst().id());
    }
}
