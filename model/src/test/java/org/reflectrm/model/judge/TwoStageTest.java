package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The two-stage rules against scripted judgments: a stand-in "model" whose rollouts and
 * reflections are fixed texts, parsed like real outputs.
 */
class TwoStageTest {
    private static final String UNPARSEABLE = "I cannot decide.";

    private static TwoStage.Rollout rollout(int verdict, double confidence) {
        String text = verdict == 0 ? UNPARSEABLE
                : "<Analysis>a" + verdict + "</Analysis><Result>" + Verdict.Kind.RESPONSE.sentence(verdict) + "</Result>";
        return new TwoStage.Rollout(Verdict.parse(text, Verdict.Kind.RESPONSE), confidence);
    }

    /** A scripted reflector: says which rollouts beat the anchor; answers in the prompt's slot numbering. */
    private static List<Verdict> reflect(List<TwoStage.Comparison> plan, List<Integer> beatAnchor, List<Integer> garbled) {
        List<Verdict> out = new ArrayList<>();
        for (TwoStage.Comparison c : plan) {
            if (garbled.contains(c.rollout())) {
                out.add(Verdict.parse("<Result>Critique 3 is best</Result>", Verdict.Kind.CRITIQUE));
                continue;
            }
            int slot = beatAnchor.contains(c.rollout()) ? c.rolloutSlot() : 3 - c.rolloutSlot();
            out.add(Verdict.parse("<Result>" + Verdict.Kind.CRITIQUE.sentence(slot) + "</Result>", Verdict.Kind.CRITIQUE));
        }
        return out;
    }

    @Test
    void theAnchorIsTheMostConfidentParseableRollout() {
        List<TwoStage.Rollout> rs = List.of(rollout(1, -0.9), rollout(0, -0.01), rollout(2, -0.2), rollout(1, -0.2));
        assertEquals(2, TwoStage.anchor(rs), "highest confidence among parseable ones, the first on ties");
        assertEquals(-1, TwoStage.anchor(List.of(rollout(0, -0.1), rollout(0, -0.2))));
    }

    @Test
    void theWinnersMajorityDecides() {
        // Anchor (rollout 0) says 1; rollouts 2 and 3 say 2 and beat it; rollout 1 says 1 and loses.
        List<TwoStage.Rollout> rs = List.of(rollout(1, -0.1), rollout(1, -0.5), rollout(2, -0.6), rollout(2, -0.7));
        int anchor = TwoStage.anchor(rs);
        List<TwoStage.Comparison> plan = TwoStage.plan(rs, anchor, 7);
        assertEquals(List.of(1, 2, 3), plan.stream().map(TwoStage.Comparison::rollout).toList());
        TwoStage.Decision d = TwoStage.decide(rs, anchor, plan, reflect(plan, List.of(2, 3), List.of()));
        assertEquals(2, d.verdict());
        assertEquals(List.of(2, 3), d.winners());
        assertFalse(d.anchorVoted());
    }

    @Test
    void noWinnersFallsBackToTheAnchor() {
        List<TwoStage.Rollout> rs = List.of(rollout(2, -0.3), rollout(1, -0.1), rollout(1, -0.5));
        int anchor = TwoStage.anchor(rs);
        List<TwoStage.Comparison> plan = TwoStage.plan(rs, anchor, 1);
        TwoStage.Decision d = TwoStage.decide(rs, anchor, plan, reflect(plan, List.of(), List.of()));
        assertEquals(1, anchor);
        assertEquals(1, d.verdict());
        assertTrue(d.winners().isEmpty());
        assertTrue(d.anchorVoted());
    }

    @Test
    void aTiedVoteIsBrokenByTheAnchor() {
        List<TwoStage.Rollout> rs = List.of(rollout(2, -0.1), rollout(1, -0.5), rollout(2, -0.6), rollout(1, -0.2));
        int anchor = TwoStage.anchor(rs);
        List<TwoStage.Comparison> plan = TwoStage.plan(rs, anchor, 3);
        // Winners 1 (says 1) and 2 (says 2) tie; the anchor (says 2) decides.
        TwoStage.Decision d = TwoStage.decide(rs, anchor, plan, reflect(plan, List.of(1, 2), List.of()));
        assertEquals(List.of(1, 2), d.winners());
        assertEquals(2, d.verdict());
        assertTrue(d.anchorVoted());
    }

    @Test
    void unparseableRolloutsAndReflectionsNeverCount() {
        // Rollout 1 is unparseable: no reflection for it. Rollout 3's reflection is garbled: not a winner.
        List<TwoStage.Rollout> rs = List.of(rollout(1, -0.2), rollout(0, 0.0), rollout(2, -0.4), rollout(2, -0.3));
        int anchor = TwoStage.anchor(rs);
        assertEquals(0, anchor);
        List<TwoStage.Comparison> plan = TwoStage.plan(rs, anchor, 11);
        assertEquals(List.of(2, 3), plan.stream().map(TwoStage.Comparison::rollout).toList());
        TwoStage.Decision d = TwoStage.decide(rs, anchor, plan, reflect(plan, List.of(2, 3), List.of(3)));
        assertEquals(List.of(2), d.winners());
        assertEquals(2, d.verdict());
        // With nothing parseable there is no verdict at all.
        List<TwoStage.Rollout> none = List.of(rollout(0, -0.1), rollout(0, -0.2));
        TwoStage.Decision empty = TwoStage.decide(none, TwoStage.anchor(none), List.of(), List.of());
        assertNull(empty.verdict());
        assertEquals(-1, empty.anchor());
    }

    @Test
    void presentationOrderIsSeededAndMixed() {
        List<TwoStage.Rollout> rs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rs.add(rollout(1 + i % 2, -i));
        }
        List<TwoStage.Comparison> a = TwoStage.plan(rs, 0, 42), b = TwoStage.plan(rs, 0, 42), c = TwoStage.plan(rs, 0, 43);
        assertEquals(a, b);
        assertFalse(a.equals(c));
        long first = a.stream().filter(TwoStage.Comparison::rolloutFirst).count();
        assertTrue(first > 5 && first < 34, "both orders occur: " + first);
    }

    @Test
    void voteAndConfidence() {
        assertEquals(2, TwoStage.vote(List.of(rollout(2, 0), rollout(1, 0), rollout(2, 0), rollout(0, 0))));
        assertNull(TwoStage.vote(List.of(rollout(2, 0), rollout(1, 0))));
        float[] lp = {-0.1f, -2f, -0.2f, -0.3f, -5f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f,
            -0.1f, -0.1f, -0.1f, -0.1f, -0.1f};
        assertEquals((-5 - 2) / 2.0, Confidence.bottomMean(lp, 0.1), 1e-6, "the lowest 10% of 20 tokens: two");
        assertEquals(-5, Confidence.bottomMean(new float[] {-1f, -5f, -0.5f}, 0.1), 1e-6, "at least one token");
        assertEquals(Double.NEGATIVE_INFINITY, Confidence.bottomMean(new float[0], 0.1));
    }

    /** The tokens behind the confidence: the lowest ones, lowest first, the earlier of equals on a tie at the cut. */
    @Test
    void bottomIndicesAreTheTokensTheConfidenceAverages() {
        float[] lp = {-0.1f, -2f, -0.2f, -0.3f, -5f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f,
            -0.1f, -0.1f, -0.1f, -0.1f, -0.1f};
        assertArrayEquals(new int[] {4, 1}, Confidence.bottomIndices(lp, 0.1));
        assertArrayEquals(new int[] {1}, Confidence.bottomIndices(new float[] {-1f, -3f, -3f}, 0.5));
        assertArrayEquals(new int[0], Confidence.bottomIndices(new float[0], 0.1));
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        for (int n = 1; n < 60; n++) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = -(float) Math.floor(random.nextDouble() * 8) / 4;      // many ties
            }
            for (double f : new double[] {0.05, 0.1, 0.34, 1}) {
                int[] idx = Confidence.bottomIndices(x, f);
                assertEquals(Math.max(1, (int) Math.floor(f * n)), idx.length);
                float[] sorted = x.clone();
                java.util.Arrays.sort(sorted);
                double sum = 0;
                for (int k = 0; k < idx.length; k++) {
                    assertEquals(sorted[k], x[idx[k]], "the k-th lowest");
                    sum += sorted[k];
                }
                assertEquals(sum / idx.length, Confidence.bottomMean(x, f));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Confidence.bottomIndices(lp, 0));
    }
}
