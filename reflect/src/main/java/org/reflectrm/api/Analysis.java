package org.reflectrm.api;

/**
 * One rollout: a generated analysis and the verdict it ends with.
 *
 * @param text       the analysis: the generated text's {@code <Analysis>} part (or all of it before
 *                   the verdict)
 * @param verdict    "A" or "B" (about the pair as given, whatever order it was shown in), or null
 *                   when no verdict could be parsed
 * @param confidence the mean log-probability of the analysis's least likely tokens (see
 *                   {@link JudgeOptions#bottomFraction()}); NaN when it has none
 * @param tokens     how many tokens the analysis took
 */
public record Analysis(String text, String verdict, double confidence, int tokens) {
    /** Whether a verdict was parsed from the analysis. */
    public boolean parsed() {
        return verdict != null;
    }
}
