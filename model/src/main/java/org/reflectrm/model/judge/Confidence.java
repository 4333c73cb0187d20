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
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("bottom fraction must be in (0, 1], got " + fraction);
        }
        if (logprobs.length == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        float[] sorted = logprobs.clone();
        Arrays.sort(sorted);
        int k = Math.max(1, (int) Math.floor(fraction * sorted.length));
        double sum = 0;
        for (int i = 0; i < k; i++) {
            sum += sorted[i];
        }
        return sum / k;
    }
}
