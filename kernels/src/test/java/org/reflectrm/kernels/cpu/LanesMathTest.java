package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The reproducible lane reductions and exp that replace the Vector API's unordered ones. */
class LanesMathTest {

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
