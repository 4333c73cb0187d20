package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.MemorySegment;

/**
 * Test support for the backward kernels: central finite differences of a scalar loss computed
 * with the F32 forward kernels, and bit-for-bit comparisons.
 */
final class Grad {
    private Grad() {
    }

    /** The loss as a function of the current contents of the input arrays. */
    @FunctionalInterface
    interface Loss {
        double eval();
    }

    /**
     * {@code ∂L/∂x_i} for every element of x, by central differences: x_i is set to x_i ± step
     * (rounded to F32, the actual step is taken from the stored values) and restored afterwards.
     */
    static double[] numeric(float[] x, float step, Loss loss) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float saved = x[i];
            float plus = saved + step;
            float minus = saved - step;
            x[i] = plus;
            double lp = loss.eval();
            x[i] = minus;
            double lm = loss.eval();
            x[i] = saved;
            g[i] = (lp - lm) / ((double) plus - minus);
        }
        return g;
    }

    /** {@code Σ a_i·b_i} in double: the random linear functional L = Σ dy·y of a forward output. */
    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** What a backward kernel added to a gradient buffer that held {@code before}. */
    static double[] added(float[] after, float[] before) {
        double[] d = new double[after.length];
        for (int i = 0; i < after.length; i++) {
            d[i] = (double) after[i] - before[i];
        }
        return d;
    }

    /**
     * Asserts {@code |got_i − want_i| ≤ rtol·(|want_i| + rms(want))} for every i: relative for
     * the large entries, and relative to the typical size for entries that are nearly zero
     * (where the finite differences are mostly rounding noise).
     */
    static void assertMatches(double[] want, double[] got, double rtol, String what) {
        double ss = 0;
        for (double w : want) {
            ss += w * w;
        }
        double rms = Math.sqrt(ss / Math.max(1, want.length));
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            double bound = rtol * (Math.abs(want[i]) + rms) + 1e-12;
            if (!(err <= bound)) {
                fail(String.format("%s: element %d is %s, finite differences give %s (error %.3g > %.3g)",
                        what, i, got[i], want[i], err, bound));
            }
        }
    }

    /** Asserts two F32 ranges hold the same bits. */
    static void assertSameBits(MemorySegment a, MemorySegment b, long off, int n, String what) {
        float[] x = Ref.read(a, off, n);
        float[] y = Ref.read(b, off, n);
        int[] xb = new int[n];
        int[] yb = new int[n];
        for (int i = 0; i < n; i++) {
            xb[i] = Float.floatToRawIntBits(x[i]);
            yb[i] = Float.floatToRawIntBits(y[i]);
        }
        assertArrayEquals(xb, yb, what + ": different bits on 1 and 3 threads");
    }

    /** Every element of the array as a double. */
    static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
