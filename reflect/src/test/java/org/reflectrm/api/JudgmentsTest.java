package org.reflectrm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.Verdict;

/** How the engine's per-order results become a {@link Judgment}: letters, the combined verdict, the fields. */
class JudgmentsTest {
    private static final Pair PAIR = Pair.of("q", "a", "b");

    /** A reflect result: verdict {@code v} about the shown order, one rollout saying {@code rollout}. */
    private static Judge.Result result(Integer v, Integer rollout) {
        Verdict said = rollout == null ? new Verdict(Verdict.Status.UNPARSEABLE, null, "hm")
                : new Verdict(Verdict.Status.OK, rollout, "because");
        Judge.Rollout r = new Judge.Rollout("<Analysis>because</Analysis>", said, -0.5, new int[] {1, 2, 3},
                new float[] {-0.1f, -0.2f, -0.3f});
        Judge.Reflection f = new Judge.Reflection(1, true, "reflection", new Verdict(Verdict.Status.OK, 2, "x"), false);
        return new Judge.Result(v, Judge.Mode.REFLECT, "v1", List.of(r, r), 0, List.of(f), List.of(0), true,
                2_000_000_000L, 500_000_000L);
    }

    @Test
    void lettersNameTheResponseWhateverOrderItWasShownIn() {
        assertEquals("A", Judgments.letter(1, false));
        assertEquals("B", Judgments.letter(2, false));
        assertEquals("B", Judgments.letter(1, true));
        assertEquals("A", Judgments.letter(2, true));
        assertNull(Judgments.letter(null, true));
    }

    @Test
    void oneOrderKeepsEverything() {
        Judgment j = Judgments.of(PAIR, Mode.REFLECT, List.of(result(2, 2)), 3.0);
        assertEquals("B", j.verdict());
        assertEquals("ok", j.status());
        OrderJudgment ab = j.orders().getFirst();
        assertEquals("AB", ab.order());
        assertEquals(new Analysis("because", "B", -0.5, 3), ab.rollouts().getFirst());
        assertEquals(0, ab.anchor());
        assertEquals(new Reflection(1, true, "x", true, false), ab.reflections().getFirst());
        assertEquals(List.of(0), ab.winners());
        assertEquals(2.0, ab.rolloutSeconds());
        assertEquals(0.5, ab.reflectionSeconds());
        assertEquals(3.0, j.seconds());
        assertEquals("v1", j.templateVersion());
    }

    @Test
    void bothOrdersAgreeDisagreeOrOneIsUnparseable() {
        // (A, B) prefers the first shown (A); (B, A) prefers the second shown (A again).
        Judgment agree = Judgments.of(PAIR, Mode.REFLECT, List.of(result(1, 1), result(2, 2)), 1);
        assertEquals("A", agree.verdict());
        assertEquals("ok", agree.status());
        assertEquals("A", agree.orders().get(1).verdict());
        assertEquals("A", agree.orders().get(1).rollouts().getFirst().verdict(), "a swapped rollout's verdict is mapped back");
        Judgment disagree = Judgments.of(PAIR, Mode.REFLECT, List.of(result(1, 1), result(1, 1)), 1);
        assertNull(disagree.verdict());
        assertEquals("inconsistent", disagree.status());
        Judgment half = Judgments.of(PAIR, Mode.REFLECT, List.of(result(null, null), result(1, 1)), 1);
        assertEquals("B", half.verdict());
        assertEquals("ok", half.status());
        Judgment none = Judgments.of(PAIR, Mode.REFLECT, List.of(result(null, null), result(null, null)), 1);
        assertNull(none.verdict());
        assertEquals("unparseable", none.status());
        assertNull(none.orders().getFirst().rollouts().getFirst().verdict());
    }
}
