package org.reflectrm.reflect.eval.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Seeded percentile bootstrap. Each resample draws, within every stratum, as many units as the
 * stratum has, uniformly with replacement; the statistic is computed on the resample; the
 * interval is the 2.5th and 97.5th percentile of the resampled statistics, interpolated
 * linearly between order statistics (numpy's default, Hyndman-Fan type 7). Resamples on which a
 * statistic is undefined ({@code NaN}) are left out of its percentiles; with none defined the
 * interval is undefined.
 *
 * <p>Every scope (the overall rates, one subset, one official score) has its own random stream,
 * derived from the seed and the scope's name, so an interval depends only on the seed, the scope
 * and its units in input order, not on what else the summary computes.
 */
final class Bootstrap {
    static final double LOW = 0.025;
    static final double HIGH = 0.975;

    private Bootstrap() {
    }

    /** The random stream of one scope. */
    static SplittableRandom rng(long seed, String scope) {
        return new SplittableRandom(mix(seed ^ mix(scope.hashCode() + 0x9E3779B97F4A7C15L)));
    }

    /**
     * Intervals of k statistics, resampling the units of each stratum independently.
     *
     * @return [k][2] low and high; a row of {@code NaN} where undefined; null when {@code samples == 0}
     */
    static <T> double[][] intervals(List<List<T>> strata, int samples, SplittableRandom rng, int k,
                                    Function<List<List<T>>, double[]> statistic) {
        if (samples == 0) {
            return null;
        }
        double[][] draws = new double[k][samples];
        for (int b = 0; b < samples; b++) {
            List<List<T>> resample = new ArrayList<>(strata.size());
            for (List<T> stratum : strata) {
                int n = stratum.size();
                List<T> r = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    r.add(stratum.get(rng.nextInt(n)));
                }
                resample.add(r);
            }
            double[] v = statistic.apply(resample);
            for (int s = 0; s < k; s++) {
                draws[s][b] = v[s];
            }
        }
        double[][] out = new double[k][];
        for (int s = 0; s < k; s++) {
            out[s] = percentiles(draws[s]);
        }
        return out;
    }

    /** One unstratified statistic. */
    static <T> double[] interval(List<T> units, int samples, SplittableRandom rng, Function<List<T>, Double> statistic) {
        double[][] r = intervals(List.of(units), samples, rng, 1, s -> new double[] {statistic.apply(s.get(0))});
        return r == null ? null : r[0];
    }

    /** The 2.5th and 97.5th percentiles of the defined values. */
    static double[] percentiles(double[] values) {
        double[] v = Arrays.stream(values).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        return new double[] {quantile(v, LOW), quantile(v, HIGH)};
    }

    /** Type-7 quantile of sorted values. */
    static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
