package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Softmax cross-entropy over rows of logits {@code [rows, cols]} (cols up to a vocabulary, ~152k),
 * replacing each row by its gradient. Rows are independent and each is computed by one thread.
 */
final class CpuCrossEntropy {
    /**
     * Columns per F32 partial sum of the exponentials; the partials are added in double. A whole
     * vocabulary summed in F32 would lose digits of the loss; this keeps each lane's F32 sum short.
     */
    private static final int SUM_BLOCK = 1024;

    private final Parallel parallel;

    CpuCrossEntropy(Parallel parallel) {
        this.parallel = parallel;
    }

    void crossEntropy(MemorySegment logits, long off, int rows, int cols, int[] targets, float[] weights,
                      double[] losses) {
        if (targets.length < rows || weights.length < rows || losses.length < rows) {
            throw new IllegalArgumentException("targets, weights and losses need " + rows + " entries");
        }
        parallel.rows(rows, cols, r -> losses[r] = row(logits, off + (long) r * cols, cols, targets[r], weights[r]));
    }

    /**
     * One row at {@code x[at .. at+cols)}: returns {@code logsumexp(x) − x[target]} and replaces
     * the row by {@code weight·(softmax(x) − onehot(target))}; a zero weight zeroes the row.
     */
    private static double row(MemorySegment x, long at, int cols, int target, float weight) {
        if (weight == 0f) {
            x.asSlice(at * 4, (long) cols * 4).fill((byte) 0);
            return 0;
        }
        if (target < 0 || target >= cols) {
            throw new IllegalArgumentException("target " + target + " outside [0, " + cols + ")");
        }
        float targetLogit = Lanes.getF(x, at + target);
        float max = max(x, at, cols);
        double sum = expInPlace(x, at, cols, max);
        // Gradient: e_j · (weight / sum), and −weight at the target.
        float factor = (float) (weight / sum);
        int bound = cols - cols % L;
        int j = 0;
        for (; j < bound; j += L) {
            Lanes.store(Lanes.f32(x, at + j).mul(factor), x, at + j);
        }
        for (; j < cols; j++) {
            Lanes.setF(x, at + j, Lanes.getF(x, at + j) * factor);
        }
        Lanes.setF(x, at + target, Lanes.getF(x, at + target) - weight);
        return max + Math.log(sum) - targetLogit;
    }

    private static float max(MemorySegment x, long at, int cols) {
        int bound = cols - cols % L;
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < bound; j += L) {
            mv = mv.max(Lanes.f32(x, at + j));
        }
        // MAX is exact, so the reduction order does not matter (unlike ADD).
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (int j = bound; j < cols; j++) {
            max = Math.max(max, Lanes.getF(x, at + j));
        }
        return max;
    }

    /**
     * Replaces the row by {@code exp(x − max)} (all ≤ 1, so large logits cannot overflow) and
     * returns their sum: F32 vector sums over blocks of {@link #SUM_BLOCK} columns, added in double.
     */
    private static double expInPlace(MemorySegment x, long at, int cols, float max) {
        int bound = cols - cols % L;
        double sum = 0;
        for (int b0 = 0; b0 < bound; b0 += SUM_BLOCK) {
            int b1 = Math.min(bound, b0 + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (int j = b0; j < b1; j += L) {
                FloatVector e = Lanes.exp(Lanes.f32(x, at + j).sub(max));
                Lanes.store(e, x, at + j);
                acc = acc.add(e);
            }
            sum += Lanes.sum(acc);
        }
        for (int j = bound; j < cols; j++) {
            float e = (float) Math.exp(Lanes.getF(x, at + j) - max);
            Lanes.setF(x, at + j, e);
            sum += e;
        }
        return sum;
    }
}
