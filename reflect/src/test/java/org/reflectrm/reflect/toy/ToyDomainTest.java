package org.reflectrm.reflect.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.reflectrm.reflect.toy.ToyDomain.Pair;
import org.reflectrm.reflect.toy.ToyDomain.Split;
import org.reflectrm.reflect.toy.ToyDomain.Task;
import org.reflectrm.reflect.toy.ToyDomain.Understood;

/** The toy domain: determinism, the split, right labels, varied surface forms, the parser. */
class ToyDomainTest {
    static final ToyDomain DOMAIN = new ToyDomain(7);
    static final String[] HELD_OUT_SUM = {"What is 9+8?", "18"};
    static final String[] HELD_OUT_DIFFERENCE = {"What is 9-5?", "6"};

    @Test
    void sameSeedSamePairs() {
        assertEquals(new ToyDomain(7).pairs(Split.TRAIN, 500), new ToyDomain(7).pairs(Split.TRAIN, 500));
        assertEquals(new ToyDomain(7).pairs(Split.HELD_OUT, 100), new ToyDomain(7).pairs(Split.HELD_OUT, 100));
        assertNotEquals(new ToyDomain(7).pairs(Split.TRAIN, 50), new ToyDomain(8).pairs(Split.TRAIN, 50));
        // a prefix is stable: asking for more pairs does not change the first ones
        assertEquals(DOMAIN.pairs(Split.TRAIN, 20), DOMAIN.pairs(Split.TRAIN, 60).subList(0, 20));
    }

    @Test
    void splitIsDisjointAndStable() {
        Set<String> trainKeys = new HashSet<>(), heldKeys = new HashSet<>();
        for (long seed : new long[] {1, 2, 3}) {
            ToyDomain d = new ToyDomain(seed);
            for (Pair p : d.pairs(Split.TRAIN, 2000)) {
                assertEquals(Split.TRAIN, p.split());
                trainKeys.add(pairKey(p));
            }
            for (Pair p : d.pairs(Split.HELD_OUT, 300)) {
                assertEquals(Split.HELD_OUT, p.split());
                heldKeys.add(pairKey(p));
            }
        }
        Set<String> both = new HashSet<>(trainKeys);
        both.retainAll(heldKeys);
        assertTrue(both.isEmpty(), "pairs on both sides: " + both);
        // comparisons and counts: held-out questions are never trained on, in any pair
        Set<String> trainQuestions = new HashSet<>();
        trainKeys.stream().filter(k -> !k.startsWith("add") && !k.startsWith("sub")).forEach(trainQuestions::add);
        heldKeys.stream().filter(k -> !k.startsWith("add") && !k.startsWith("sub"))
                .forEach(k -> assertFalse(trainQuestions.contains(k), k));
        // by content, not surface form and not seed
        assertEquals(DOMAIN.splitOf("What is 7+5?", "13"), DOMAIN.splitOf("what is 7 + 5", "13"));
        assertEquals(DOMAIN.splitOf("Which is larger, 47 or 74?", "47"), new ToyDomain(99).splitOf("Which is bigger: 74 or 47?", "47"));
        // pinned: the split is part of the data's identity and must not drift between versions
        for (String[] q : new String[][] {HELD_OUT_SUM, HELD_OUT_DIFFERENCE}) {
            assertEquals(Split.HELD_OUT, DOMAIN.splitOf(q[0], q[1]).orElseThrow(), q[0] + " / " + q[1]);
        }
        for (String[] q : new String[][] {{"What is 7+5?", "14"}, {"What is 9-3?", "5"},
                // the README's examples, kept in training (ToyDomain.SHOWCASE; the hash would hold out the first two)
                {"What is 7+5?", "13"}, {"What is 9-3?", "7"}, {"Which is larger, 47 or 74?", "47"},
                {"How many r in strawberry?", "2"}}) {
            assertEquals(Split.TRAIN, DOMAIN.splitOf(q[0], q[1]).orElseThrow(), q[0]);
        }
        // every held-out task is represented, and the fraction is near the configured one
        assertEquals(Set.of(Task.values()), DOMAIN.pairs(Split.HELD_OUT, 400).stream().map(Pair::task).collect(Collectors.toSet()));
        int held = 0, n = 0;
        for (int a = 10; a < 100; a++) {
            for (int b = a + 1; b < 100; b++) {
                n++;
                if (DOMAIN.splitOf("Which is larger, " + a + " or " + b + "?", Integer.toString(a)).orElseThrow() == Split.HELD_OUT) {
                    held++;
                }
            }
        }
        assertTrue(Math.abs(held / (double) n - ToyDomain.DEFAULT_HELD_OUT) < 0.05, held + "/" + n);
    }

    @Test
    void everyLabelIsRight() {
        for (Split split : Split.values()) {
            for (Pair p : DOMAIN.pairs(split, 3000)) {
                String truth = recompute(p.question());
                assertEquals(truth, p.answer(), p.toString());
                assertEquals(truth, ToyDomain.valueOf(p.chosen()), p.toString());
                assertEquals(p.distractor(), ToyDomain.valueOf(p.rejected()), p.toString());
                assertNotEquals(truth, p.distractor(), p.toString());
                assertFalse(p.distractor().startsWith("-"), p.toString());
            }
        }
    }

    /** What the split hashes, written out independently: the question's content, and for sums and differences the wrong value. */
    static String pairKey(Pair p) {
        String q = p.understood().key();
        return p.task() == Task.ADD || p.task() == Task.SUB ? q + ":" + p.distractor() : q;
    }

    /** An independent recomputation from the question's numbers and letters. */
    static String recompute(String q) {
        var nums = java.util.regex.Pattern.compile("\\d+").matcher(q).results().map(r -> Integer.parseInt(r.group())).toList();
        if (q.contains("+")) {
            return Integer.toString(nums.get(0) + nums.get(1));
        }
        if (q.contains("-")) {
            return Integer.toString(nums.get(0) - nums.get(1));
        }
        if (q.startsWith("Which")) {
            return Integer.toString(Math.max(nums.get(0), nums.get(1)));
        }
        var m = java.util.regex.Pattern.compile("(?:many|does) ([a-z])\\b").matcher(q);
        assertTrue(m.find(), q);
        char c = m.group(1).charAt(0);
        String[] w = q.replace("?", "").split(" ");
        String word = w[w.length - 1];
        return Long.toString(word.chars().filter(ch -> ch == c).count());
    }

    @Test
    void distractorsAreThePlausibleKinds() {
        Map<String, Integer> kinds = new java.util.TreeMap<>();
        for (Pair p : DOMAIN.pairs(Split.TRAIN, 4000)) {
            int a = Integer.parseInt(p.answer()), d = Integer.parseInt(p.distractor());
            switch (p.task()) {
                case ADD, SUB -> {
                    String kind = Math.abs(d - a) <= 2 || Math.abs(d - a) == 10 ? "delta" + Math.abs(d - a)
                            : d == 10 * (a % 10) + a / 10 ? "swap" : "other";
                    kinds.merge(kind, 1, Integer::sum);
                }
                case CMP -> assertTrue(d < a && p.question().contains(p.distractor()), p.toString());
                case CNT -> assertEquals(1, Math.abs(d - a), p.toString());
            }
        }
        assertFalse(kinds.containsKey("other"), kinds.toString());
        assertEquals(Set.of("delta1", "delta2", "delta10", "swap"), kinds.keySet(), kinds.toString());
    }

    @Test
    void surfaceFormsVary() {
        List<Pair> pairs = DOMAIN.pairs(Split.TRAIN, 2000);
        Map<Task, Set<String>> forms = new EnumMap<>(Task.class);
        Map<Task, Set<String>> questionForms = new EnumMap<>(Task.class);
        int sameForm = 0;
        for (Pair p : pairs) {
            forms.computeIfAbsent(p.task(), t -> new HashSet<>()).add(shape(p.chosen()));
            forms.computeIfAbsent(p.task(), t -> new HashSet<>()).add(shape(p.rejected()));
            questionForms.computeIfAbsent(p.task(), t -> new HashSet<>()).add(shape(p.question()));
            if (shape(p.chosen()).equals(shape(p.rejected()))) {
                sameForm++;
            }
        }
        for (Task t : Task.values()) {
            assertTrue(forms.get(t).size() >= 5, t + " " + forms.get(t));
            assertTrue(questionForms.get(t).size() >= 3, t + " " + questionForms.get(t));
        }
        // the two responses of a pair usually differ in form: form says nothing of the label
        assertTrue(sameForm < pairs.size() / 2, sameForm + "/" + pairs.size());
        // the equation form appears for wrong responses too, so copying it does not win
        assertTrue(pairs.stream().anyMatch(p -> p.rejected().contains("=")));
        assertTrue(pairs.stream().anyMatch(p -> !p.chosen().contains("=") && (p.task() == Task.ADD)));
    }

    private static String shape(String s) {
        return s.replaceAll("\\d+", "N").replaceAll("\\b[a-z]\\b", "L").replaceAll("\\b[a-z]{3,}\\b(?=\\?)", "W");
    }

    @Test
    void understandsTheReadmeExamples() {
        assertUnderstood("What is 7+5?", Task.ADD, "12", "7+5=12");
        assertUnderstood("What is 7 + 5?", Task.ADD, "12", "7+5=12");
        assertUnderstood("  what's 9-3 ", Task.SUB, "6", "9-3=6");
        assertUnderstood("Compute 7 plus 5.", Task.ADD, "12", "7+5=12");
        assertUnderstood("What is 3-8?", Task.SUB, "-5", "3-8=-5");
        assertUnderstood("What is 37+45?", Task.ADD, "82", "37+45=82");
        assertUnderstood("Which is larger, 47 or 74?", Task.CMP, "74", "74>47");
        assertUnderstood("which is bigger: 74 or 47", Task.CMP, "74", "74>47");
        assertUnderstood("Which number is smaller, 47 or 74?", Task.CMP, "47", "47<74");
        assertUnderstood("How many r in strawberry?", Task.CNT, "3", "s0 t0 r1 a1 w1 b1 e1 r2 r3 y3 = 3 r");
        assertUnderstood("How many r's are in strawberry?", Task.CNT, "3", "s0 t0 r1 a1 w1 b1 e1 r2 r3 y3 = 3 r");
        assertUnderstood("How many times does s appear in mississippi?", Task.CNT, "4", "m0 i0 s1 s2 i2 s3 s4 i4 p4 p4 i4 = 4 s");
        assertUnderstood("How many d in adadd?", Task.CNT, "3", "a0 d1 a1 d2 d3 = 3 d");
        assertUnderstood("How many z in the word \"pizza\"?", Task.CNT, "2", "p0 i0 z1 z2 a2 = 2 z");
    }

    private static void assertUnderstood(String q, Task task, String answer, String work) {
        Understood u = ToyDomain.understands(q).orElseThrow(() -> new AssertionError("not understood: " + q));
        assertEquals(task, u.task(), q);
        assertEquals(answer, u.answer(), q);
        assertEquals(work, u.work(), q);
    }

    @Test
    void outOfDomainIsNotUnderstood() {
        for (String q : new String[] {"", "   ", "Write a poem about the sea.", "What is the capital of France?",
                "What is 7*5?", "What is 7/5?", "What is 7+5+1?", "Which is larger, 47 or 47?", "Which is larger, cats or dogs?",
                "How many words in this sentence?", "How many r in straw berry?", "What is 7+5? Explain.",
                "What is x+5?", "Tell me: what is 7+5?", "What is 1.5+2?"}) {
            assertTrue(ToyDomain.understands(q).isEmpty(), q);
            assertTrue(DOMAIN.splitOf(q, "1").isEmpty(), q);
        }
        assertTrue(ToyDomain.understands(null).isEmpty());
    }

    @Test
    void slipWorkingIsTheDistractors() {
        assertEquals("7+5=13", ToyDomain.understands("What is 7+5?").orElseThrow().workFor("13"));
        assertEquals("47>74", ToyDomain.understands("Which is larger, 47 or 74?").orElseThrow().workFor("47"));
        assertEquals("74>47", ToyDomain.understands("Which is larger, 47 or 74?").orElseThrow().workFor("74"));
        Understood adadd = ToyDomain.understands("How many d in adadd?").orElseThrow();
        assertEquals("a0 d1 a1 d2 d3 = 3 d", adadd.work());
        assertEquals("a0 d0 a0 d1 d2 = 2 d", adadd.workFor("2"), "misses the first d");
        assertEquals("a1 d2 a2 d3 d4 = 4 d", adadd.workFor("4"), "counts the first other letter");
        assertEquals("q2 q3 = 3 q", ToyDomain.understands("How many q in qq?").orElseThrow().workFor("3"));
        assertEquals("x1 y1 = 1 z", ToyDomain.understands("How many z in xy?").orElseThrow().workFor("1"));
    }
}
