package org.reflectrm.api;

import java.util.List;

/**
 * The judgment of a pair in one presentation order, with everything behind it.
 *
 * @param order             "AB" (A shown first) or "BA"
 * @param verdict           "A", "B" or null (unparseable), about the pair as given
 * @param status            "ok" or "unparseable"
 * @param rollouts          every analysis, in generation order
 * @param anchor            reflect mode: the index of the anchor rollout, or null when there is none
 *                          (no rollout had a verdict); null in the other modes
 * @param reflections       reflect mode: the stage-2 comparisons; empty in the other modes
 * @param winners           reflect mode: the rollouts whose analyses won, voted on for the verdict
 * @param anchorVoted       reflect mode: whether the anchor itself was among the voters
 * @param rolloutSeconds    time spent generating the rollouts (for a batch: the batch's)
 * @param reflectionSeconds time spent generating the reflections (for a batch: the batch's)
 */
public record OrderJudgment(String order, String verdict, String status, List<Analysis> rollouts, Integer anchor,
                            List<Reflection> reflections, List<Integer> winners, boolean anchorVoted,
                            double rolloutSeconds, double reflectionSeconds) {
    public OrderJudgment {
        rollouts = List.copyOf(rollouts);
        reflections = List.copyOf(reflections);
        winners = List.copyOf(winners);
    }
}
