package org.reflectrm.model.judge;

import java.util.Arrays;

/**
 * DeepConf-style confidence of one generated judgment: the mean log-probability of its least
 * likely tokens. A judgment that hesitated anywhere scores low even if most tokens were easy.
 */
public final class Confidence {
    private Confidence() {
    }

    /** The mean of the lowest {@code fraction} of {@code logprobs} (at least one token); −∞ for none. */
    public static double bottomMean(float[] logprobs, double fraction) {
        int[] bottom = bottomIndices(logprobs, fraction);
        if (bottom.length == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        double sum = 0;
        for (int i : bottom) {
            sum += logprobs[i];
        }
        return sum / bottom.length;
    }

    /**
     * The positions of the tokens {@link #bottomMean} averages: the {@code max(1, ⌊fraction·n⌋)}
     * lowest log-probabilities (none for no tokens), lowest first; of equal values the earlier
     * token comes first (and is the one taken when the cut falls among them).
     */
    public static int[] bottomIndices(float[] logprobs, double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("bottom fraction must be in (0, 1], got " + fraction);
        }
        if (logprobs.length == 0) {
            return new int[0];
        }
        int k = Math.max(1, (int) Math.floor(fraction * logprobs.length));
        // Sorted as Arrays.sort(float[]) sorts (Float.compare: −0 before 0, NaN last), index breaking ties.
        Integer[] order = new Integer[logprobs.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(logprobs[a], logprobs[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = order[i];
        }
        return out;
    }
}
