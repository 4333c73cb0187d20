package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The reproducible lane reductions and exp that replace the Vector API's unordered ones. */
class LanesMathTest {

    /**
     * sum4 adds each vector's lanes in one documented order: pairs, then quads, then the quads
     * (q0 + q2) + (q1 + q3) for 16 lanes. The same order in scalar code must give the same bits
     * (so runs stay reproducible), and the sums must be right.
     */
    @Test
    void sum4AddsInItsFixedOrder() {
        SplittableRandom rnd = new SplittableRandom(11);
        float[] out = new float[4];
        for (int trial = 0; trial < 2000; trial++) {
            float[][] v = new float[4][Lanes.L];
            for (float[] lanes : v) {
                for (int i = 0; i < lanes.length; i++) {
                    lanes[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-3, 4)));
                }
            }
            Lanes.sum4(FloatVector.fromArray(Lanes.F, v[0], 0), FloatVector.fromArray(Lanes.F, v[1], 0),
                    FloatVector.fromArray(Lanes.F, v[2], 0), FloatVector.fromArray(Lanes.F, v[3], 0), out, 0);
            for (int r = 0; r < 4; r++) {
                float[] x = v[r];
                float[] quads = new float[Lanes.L / 4];
                double exact = 0;
                for (int j = 0; j < quads.length; j++) {
                    quads[j] = (x[4 * j] + x[4 * j + 1]) + (x[4 * j + 2] + x[4 * j + 3]);
                }
                for (float f : x) {
                    exact += f;
                }
                float ordered = switch (quads.length) {
                    case 4 -> (quads[0] + quads[2]) + (quads[1] + quads[3]);
                    case 2 -> quads[0] + quads[1];
                    default -> quads[0];
                };
                assertEquals(Float.floatToRawIntBits(ordered), Float.floatToRawIntBits(out[r]), "vector " + r);
                double magnitude = 0;
                for (float f : x) {
                    magnitude += Math.abs(f);
                }
                assertTrue(Math.abs(out[r] - exact) <= 1e-6 * magnitude + 1e-30, "vector " + r + " sum");
            }
        }
    }

    @Test
    void expIsWithinTwoUlpsOfMathExpOverItsRange() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[Lanes.L];
        double worstUlps = 0;
        for (int round = 0; round < 20_000; round++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (random.nextDouble(-87.0, 88.0));
            }
            FloatVector e = Lanes.exp(FloatVector.fromArray(Lanes.F, x, 0));
            for (int i = 0; i < x.length; i++) {
                double want = Math.exp(x[i]);
                worstUlps = Math.max(worstUlps, Math.abs(e.lane(i) - want) / Math.ulp((float) want));
            }
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulps");
    }

    @Test
    void expHandlesTheEdges() {
        float[] x = new float[Lanes.L];
        float[] special = {Float.NEGATIVE_INFINITY, -1000f, 0f, -0f, 1f, Float.NaN, 100f, Float.POSITIVE_INFINITY};
        System.arraycopy(special, 0, x, 0, Math.min(special.length, x.length));
        FloatVector e = Lanes.exp(FloatVector.fromArray(Lanes.F, x, 0));
        assertEquals(0f, e.lane(0));
        assertEquals(0f, e.lane(1));
        assertEquals(1f, e.lane(2));
        assertEquals(1f, e.lane(3));
        assertEquals((float) Math.E, e.lane(4), Math.ulp((float) Math.E));
        assertTrue(Float.isNaN(e.lane(5)));
        assertEquals(Float.POSITIVE_INFINITY, e.lane(6));
        assertEquals(Float.POSITIVE_INFINITY, e.lane(7));
    }

    @Test
    void sumAddsInAFixedPairwiseOrder() {
        SplittableRandom random = new SplittableRandom(5);
        float[] x = new float[Lanes.L];
        for (int round = 0; round < 1000; round++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian() * (float) Math.pow(10, random.nextInt(-3, 4));
            }
            // The same tree by hand: lane i gets lane i + half, halving until one lane is left.
            float[] t = x.clone();
            for (int half = t.length / 2; half >= 1; half /= 2) {
                for (int i = 0; i < half; i++) {
                    t[i] = t[i] + t[i + half];
                }
            }
            assertEquals(t[0], Lanes.sum(FloatVector.fromArray(Lanes.F, x, 0)));
        }
    }
}
