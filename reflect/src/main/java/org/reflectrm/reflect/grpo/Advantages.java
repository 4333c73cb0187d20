package org.reflectrm.reflect.grpo;

import org.reflectrm.model.BadInputException;

/**
 * Group-relative advantages as TRL computes them: each reward minus its group's mean, divided
 * by the standard deviation plus 1e-4 (the group's, the whole batch's, or none). Standard
 * deviations use Bessel's correction, as {@code torch.std} does.
 */
public final class Advantages {
    /** Which standard deviation scales the advantages (TRL's {@code scale_rewards}). */
    public enum Scale {
        GROUP, BATCH, NONE;

        public static Scale parse(String name) {
            for (Scale s : values()) {
                if (s.name().equalsIgnoreCase(name)) {
                    return s;
                }
            }
            throw new BadInputException("--scale-rewards must be group, batch or none, got " + name);
        }
    }

    private Advantages() {
    }

    /** Advantages of {@code rewards}, laid out as consecutive groups of {@code group}. */
    public static double[] of(double[] rewards, int group, Scale scale) {
        if (group < 1 || rewards.length % group != 0) {
            throw new IllegalArgumentException(rewards.length + " rewards do not split into groups of " + group);
        }
        double[] out = new double[rewards.length];
        double batchStd = std(rewards, 0, rewards.length);
        for (int g = 0; g < rewards.length; g += group) {
            double mean = mean(rewards, g, g + group);
            double std = scale == Scale.BATCH ? batchStd : std(rewards, g, g + group);
            for (int i = g; i < g + group; i++) {
                out[i] = rewards[i] - mean;
                if (scale != Scale.NONE) {
                    out[i] /= std + 1e-4;
                }
            }
        }
        return out;
    }

    /** Whether all rewards of the group starting at {@code from} are equal (its advantages are all 0). */
    public static boolean flat(double[] rewards, int from, int group) {
        for (int i = from + 1; i < from + group; i++) {
            if (rewards[i] != rewards[from]) {
                return false;
            }
        }
        return true;
    }

    private static double mean(double[] x, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[i];
        }
        return sum / (to - from);
    }

    /** Bessel-corrected; 0 for a single value (TRL's nanstd gives NaN there, and then zero advantages). */
    private static double std(double[] x, int from, int to) {
        int n = to - from;
        if (n < 2) {
            return 0;
        }
        double m = mean(x, from, to), sq = 0;
        for (int i = from; i < to; i++) {
            sq += (x[i] - m) * (x[i] - m);
        }
        return Math.sqrt(sq / (n - 1));
    }
}
