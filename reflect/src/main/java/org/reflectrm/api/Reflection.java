package org.reflectrm.api;

/**
 * One stage-2 comparison in reflect mode: the anchor's analysis against another rollout's.
 *
 * @param rollout           the index of the rollout compared with the anchor
 * @param rolloutShownFirst whether that rollout's analysis was shown before the anchor's
 * @param text              the generated reflection
 * @param parsed            whether a winner could be parsed from it
 * @param rolloutWon        whether it preferred the rollout's analysis to the anchor's
 */
public record Reflection(int rollout, boolean rolloutShownFirst, String text, boolean parsed, boolean rolloutWon) {
}
