package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_(norm_type=2). */
public final class GradClip {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private GradClip() {
    }

    /**
     * @param totalNorm the L2 norm of all gradients together, before clipping; NaN or infinite
     *                  when some gradient is
     * @param scale     what the gradients were multiplied by (1 when they were left alone)
     */
    public record Result(double totalNorm, double scale) {
        /** False when some gradient is NaN or infinite: the trainer should skip this step. */
        public boolean finite() {
            return Double.isFinite(totalNorm);
        }

        public boolean clipped() {
            return scale < 1;
        }
    }

    /**
     * The L2 norm of all gradients viewed as one vector. The sum of squares runs in double, in one
     * fixed order (no lane-wise partial sums), so it is exact to the double and deterministic.
     */
    public static double globalNorm(List<OptimParam> params) {
        double sum = 0;
        for (OptimParam p : params) {
            MemorySegment grad = p.grad();
            long off = p.gradOffset() * Float.BYTES;
            for (long i = 0; i < p.size(); i++) {
                double g = grad.get(FLOAT, off + i * Float.BYTES);
                sum += g * g;
            }
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (total + 1e-6))}, as torch does (the 1e-6
     * keeps the clipped norm just under {@code maxNorm}). Unlike torch, a non-finite norm leaves
     * the gradients untouched (torch would multiply them by NaN or 0) and is reported through
     * {@link Result#finite()}, so the caller can skip the step.
     */
    public static Result clipByGlobalNorm(List<OptimParam> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("max norm " + maxNorm + " must be positive");
        }
        double total = globalNorm(params);
        if (!Double.isFinite(total)) {
            return new Result(total, 1);
        }
        double coef = maxNorm / (total + 1e-6);
        if (coef >= 1) {
            return new Result(total, 1);
        }
        float scale = (float) coef;   // torch multiplies float32 gradients by a float32 coefficient
        for (OptimParam p : params) {
            scale(p.grad(), p.gradOffset() * Float.BYTES, p.size(), scale);
        }
        return new Result(total, scale);
    }

    private static void scale(MemorySegment grad, long off, long n, float s) {
        long i = 0;
        long bound = n - n % F.length();
        for (; i < bound; i += F.length()) {
            long b = off + i * Float.BYTES;
            FloatVector.fromMemorySegment(F, grad, b, NATIVE).mul(s).intoMemorySegment(grad, b, NATIVE);
        }
        for (; i < n; i++) {
            long b = off + i * Float.BYTES;
            grad.set(FLOAT, b, grad.get(FLOAT, b) * s);
        }
    }
}
