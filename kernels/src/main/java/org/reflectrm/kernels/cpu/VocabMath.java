package org.reflectrm.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised passes over one row of logits (a slice {@code [from, from + n)} of a batch's logits,
 * so rows need no copying). A 152k vocabulary makes these the host's share of every decode step:
 * on a GPU the scalar versions (about 1 ms per pass, {@code Math.exp} in double) cost more than
 * the whole forward of a small model. Exponentials run in float lanes ({@link Lanes#exp}) and are
 * summed in chunks of {@link #CHUNK} elements, each chunk's lanes in a fixed order
 * ({@link Lanes#sum}: {@code reduceLanes(ADD)} adds in another order once compiled, so seeded
 * sampling would depend on when the JIT got to this), and the chunks in double, so a sum is
 * within a few float ulps of the double one.
 */
public final class VocabMath {
    private static final VectorSpecies<Float> S = Lanes.F;
    /** Elements per partial sum: short enough that float lanes lose nothing that matters. */
    public static final int CHUNK = 2048;

    private VocabMath() {
    }

    /** The largest value, or NaN if the row holds a NaN. */
    public static float max(float[] x, int from, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= S.length()) {
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (; i <= n - S.length(); i += S.length()) {
                mv = mv.max(FloatVector.fromArray(S, x, from + i));  // Math.max semantics: NaN sticks
            }
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            m = Math.max(m, x[from + i]);
        }
        return m;
    }

    /**
     * First index (relative to {@code from}) of the largest value, like torch.argmax, except that
     * NaN loses to every number and a row of only NaN gives 0, as the devices' argmax does.
     */
    public static int argmax(float[] x, int from, int n) {
        float m = max(x, from, n);
        if (Float.isNaN(m)) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                float v = x[from + i];
                if (!Float.isNaN(v) && (best < 0 || v > x[from + best])) {
                    best = i;
                }
            }
            return Math.max(best, 0);
        }
        for (int i = 0; i < n; i++) {
            if (x[from + i] == m) {
                return i;
            }
        }
        throw new AssertionError("the maximum " + m + " is not in the row");
    }

    /**
     * {@code sums[c] = Σ exp((x_i - max) * invTemperature)} over chunk c ({@link #CHUNK} elements);
     * returns the total. {@code sums} holds at least {@code chunks(n)} entries.
     */
    public static double expSums(float[] x, int from, int n, float max, float invTemperature, double[] sums) {
        double total = 0;
        for (int c = 0, start = 0; start < n; c++, start += CHUNK) {
            int end = Math.min(n, start + CHUNK);
            int i = start;
            double s = 0;
            if (end - start >= S.length()) {
                FloatVector acc = FloatVector.zero(S);
                for (; i <= end - S.length(); i += S.length()) {
                    FloatVector v = FloatVector.fromArray(S, x, from + i).sub(max).mul(invTemperature);
                    acc = acc.add(Lanes.exp(v));
                }
                s = Lanes.sum(acc);  // a fixed order: reduceLanes may sum in any order
            }
            for (; i < end; i++) {
                s += Math.exp(((double) x[from + i] - max) * invTemperature);
            }
            sums[c] = s;
            total += s;
        }
        return total;
    }

    public static int chunks(int n) {
        return (n + CHUNK - 1) / CHUNK;
    }

    /** {@code log Σ exp(x_i)}, or NaN if the row holds a NaN. */
    public static double logSumExp(float[] x, int from, int n) {
        return logSumExp(x, from, n, max(x, from, n));
    }

    /** As {@link #logSumExp(float[], int, int)} for a caller that already knows the row's {@link #max}. */
    public static double logSumExp(float[] x, int from, int n, float max) {
        if (Float.isNaN(max) || Float.isInfinite(max)) {
            return max;
        }
        return max + Math.log(expSums(x, from, n, max, 1f, new double[chunks(n)]));
    }
}
