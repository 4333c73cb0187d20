package org.reflectrm.model.judge;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The decision rules of ReflectRM's two-stage inference, apart from any model:
 * <ol>
 *   <li>the anchor is the parseable rollout with the highest confidence (the first on ties);</li>
 *   <li>every other parseable rollout is compared with the anchor once, by a self-reflection
 *       prompt that shows the two critiques in a seeded random order;</li>
 *   <li>the winners are the rollouts whose critique the reflection preferred over the anchor's;</li>
 *   <li>the verdict is the majority of the winners' verdicts; when there are no winners or
 *       their vote ties, the anchor joins them and they vote again.</li>
 * </ol>
 * Unparseable rollouts are never anchor, get no reflection and do not vote; an unparseable
 * reflection counts as a loss for its rollout. With no parseable rollout there is no verdict.
 */
public final class TwoStage {
    private TwoStage() {
    }

    /** One stage-1 judgment: its parsed verdict and its confidence. */
    public record Rollout(Verdict verdict, double confidence) {
    }

    /** A planned reflection: rollout {@code rollout} against the anchor, its critique shown first or second. */
    public record Comparison(int rollout, boolean rolloutFirst) {
        /** The critique number (1 or 2) of the rollout in the reflection prompt. */
        public int rolloutSlot() {
            return rolloutFirst ? 1 : 2;
        }
    }

    /** The outcome: verdict (1, 2 or null), anchor (−1 if none), winners, and whether the anchor had to vote. */
    public record Decision(Integer verdict, int anchor, List<Integer> winners, boolean anchorVoted) {
    }

    /** The anchor: the parseable rollout with the highest confidence; −1 when none parsed. */
    public static int anchor(List<Rollout> rollouts) {
        int best = -1;
        for (int i = 0; i < rollouts.size(); i++) {
            Rollout r = rollouts.get(i);
            if (r.verdict().parsed() && (best < 0 || r.confidence() > rollouts.get(best).confidence())) {
                best = i;
            }
        }
        return best;
    }

    /** The reflections to run, in rollout order, each with a seeded presentation order. */
    public static List<Comparison> plan(List<Rollout> rollouts, int anchor, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Comparison> plan = new ArrayList<>();
        for (int i = 0; i < rollouts.size(); i++) {
            boolean first = random.nextBoolean();       // drawn for every rollout: the order of one does not depend on others' parses
            if (i != anchor && anchor >= 0 && rollouts.get(i).verdict().parsed()) {
                plan.add(new Comparison(i, first));
            }
        }
        return plan;
    }

    /**
     * Decides from the reflections' verdicts ({@code reflections.get(k)} answers
     * {@code plan.get(k)}).
     */
    public static Decision decide(List<Rollout> rollouts, int anchor, List<Comparison> plan, List<Verdict> reflections) {
        if (plan.size() != reflections.size()) {
            throw new IllegalArgumentException(plan.size() + " planned reflections but " + reflections.size() + " results");
        }
        if (anchor < 0) {
            return new Decision(null, -1, List.of(), false);
        }
        List<Integer> winners = new ArrayList<>();
        for (int k = 0; k < plan.size(); k++) {
            Verdict v = reflections.get(k);
            if (v.parsed() && v.choice() == plan.get(k).rolloutSlot()) {
                winners.add(plan.get(k).rollout());
            }
        }
        Integer verdict = majority(rollouts, winners);
        if (verdict != null) {
            return new Decision(verdict, anchor, List.copyOf(winners), false);
        }
        List<Integer> withAnchor = new ArrayList<>(winners);
        withAnchor.add(anchor);
        return new Decision(majority(rollouts, withAnchor), anchor, List.copyOf(winners), true);
    }

    /** The majority verdict of the given rollouts, or null when they are none or tie. */
    static Integer majority(List<Rollout> rollouts, List<Integer> voters) {
        int ones = 0, twos = 0;
        for (int i : voters) {
            Verdict v = rollouts.get(i).verdict();
            if (v.parsed()) {
                ones += v.choice() == 1 ? 1 : 0;
                twos += v.choice() == 2 ? 1 : 0;
            }
        }
        return ones > twos ? Integer.valueOf(1) : twos > ones ? Integer.valueOf(2) : null;
    }

    /** Plain majority vote of all parseable rollouts (the {@code vote} baseline); null on a tie or none. */
    public static Integer vote(List<Rollout> rollouts) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < rollouts.size(); i++) {
            all.add(i);
        }
        return majority(rollouts, all);
    }
}
