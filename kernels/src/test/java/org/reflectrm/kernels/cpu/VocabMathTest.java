package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** VocabMath gives the same bits however the JIT has compiled it, so seeded sampling repeats. */
class VocabMathTest {

    @Test
    void sameBitsFromTheFirstCallToTheCompiledOnes() {
        SplittableRandom r = new SplittableRandom(4);
        float[] row = new float[3 * VocabMath.CHUNK + 37];  // whole chunks and a scalar tail
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) (r.nextGaussian() * 4);
        }
        double[] sums = new double[VocabMath.chunks(row.length)];
        // The first calls run interpreted; by the last ones C2 has compiled the loops. With
        // reduceLanes(ADD) in place of Lanes.sum this fails within a thousand calls.
        double lse = VocabMath.logSumExp(row, 0, row.length);
        double total = VocabMath.expSums(row, 0, row.length, 3f, 0.7f, sums);
        for (int i = 0; i < 20_000; i++) {
            assertEquals(Double.doubleToRawLongBits(lse), Double.doubleToRawLongBits(VocabMath.logSumExp(row, 0, row.length)),
                    "log-sum-exp at call " + i);
            assertEquals(Double.doubleToRawLongBits(total),
                    Double.doubleToRawLongBits(VocabMath.expSums(row, 0, row.length, 3f, 0.7f, sums)), "sum at call " + i);
        }
    }
}
