package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * torch.optim.AdamW, step for step: decoupled weight decay {@code p *= 1 - lr*wd}, then
 * {@code m = lerp(m, g, 1-b1)}, {@code v = b2*v + (1-b2)*g*g}, and
 * {@code p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)} with {@code bc_i = 1 - b_i^t}.
 *
 * <p>The arithmetic follows torch's CPU kernels operation by operation (the same float32
 * roundings, the same fused multiply-adds, scalars computed in double and rounded to float once),
 * so results agree with torch to an ulp or so rather than merely to a tolerance. The vector loop
 * and the scalar tail do exactly the same operations, so results do not depend on the lane count.
 * State per parameter: {@code <name>.exp_avg} and {@code <name>.exp_avg_sq}.
 */
public final class AdamW extends BaseOptimizer {
    /** torch.optim.AdamW's default learning rate, for callers without a schedule. */
    public static final double DEFAULT_LR = 1e-3;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Hyperparameters other than the learning rate; {@link #defaults()} are torch's. */
    public record Config(double beta1, double beta2, double eps, double weightDecay) {
        public Config {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("betas (" + beta1 + ", " + beta2 + ") must be in [0, 1)");
            }
            if (!(eps >= 0) || !(weightDecay >= 0) || Double.isInfinite(eps) || Double.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("eps " + eps + " and weight decay " + weightDecay
                        + " must be finite and non-negative");
            }
        }

        /** betas (0.9, 0.999), eps 1e-8, weight decay 0.01: torch.optim.AdamW's defaults. */
        public static Config defaults() {
            return new Config(0.9, 0.999, 1e-8, 0.01);
        }
    }

    private final Config config;

    public AdamW(List<OptimParam> params, Config config) {
        super(params, "exp_avg", "exp_avg_sq");
        this.config = config;
    }

    public Config config() {
        return config;
    }

    @Override
    public void step(double lr) {
        checkLr(lr);
        long t = ++steps;
        // Scalars as torch computes them: in double (Python floats), rounded to float32 when a
        // kernel takes them. StrictMath so that the powers do not depend on the JIT.
        double bc1 = 1 - StrictMath.pow(config.beta1(), t);
        double bc2 = 1 - StrictMath.pow(config.beta2(), t);
        float negStepSize = (float) -(lr / bc1);
        float bc2Sqrt = (float) StrictMath.sqrt(bc2);
        float eps = (float) config.eps();
        float w1 = (float) (1 - config.beta1());
        float beta2 = (float) config.beta2();
        float c2 = (float) (1 - config.beta2());
        float decayed = (float) (1 - lr * config.weightDecay());
        List<OptimParam> ps = params();
        for (int i = 0; i < ps.size(); i++) {
            OptimParam p = ps.get(i);
            float decay = p.weightDecay() ? decayed : 1f;   // times 1 is exact: the same as skipping it
            update(p, state.get(i, 0), state.get(i, 1), decay, w1, beta2, c2, bc2Sqrt, eps, negStepSize);
        }
    }

    private static void update(OptimParam p, MemorySegment m, MemorySegment v, float decay, float w1, float beta2,
            float c2, float bc2Sqrt, float eps, float negStepSize) {
        MemorySegment value = p.value();
        MemorySegment grad = p.grad();
        long pOff = p.valueOffset() * Float.BYTES;
        long gOff = p.gradOffset() * Float.BYTES;
        long n = p.size();
        // m.lerp_(g, w1) as ATen's lerp kernel does it: fma(w, g - m, m) for |w| < 0.5, else
        // fma(w - 1, g - m, g); both are m + w*(g - m) but round differently.
        boolean small = Math.abs(w1) < 0.5f;
        float coeff = small ? w1 : w1 - 1f;
        FloatVector coeffV = FloatVector.broadcast(F, coeff);
        long i = 0;
        long bound = n - n % F.length();
        for (; i < bound; i += F.length()) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = i * Float.BYTES;
            FloatVector pv = FloatVector.fromMemorySegment(F, value, pb, NATIVE);
            FloatVector gv = FloatVector.fromMemorySegment(F, grad, gb, NATIVE);
            FloatVector mv = FloatVector.fromMemorySegment(F, m, sb, NATIVE);
            FloatVector vv = FloatVector.fromMemorySegment(F, v, sb, NATIVE);
            pv = pv.mul(decay);
            mv = gv.sub(mv).fma(coeffV, small ? mv : gv);
            vv = vv.mul(beta2).add(gv.mul(c2).mul(gv));                // addcmul: v + (c2*g)*g
            FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
            pv = pv.add(mv.mul(negStepSize).div(denom));               // addcdiv: p + (s*m)/denom
            pv.intoMemorySegment(value, pb, NATIVE);
            mv.intoMemorySegment(m, sb, NATIVE);
            vv.intoMemorySegment(v, sb, NATIVE);
        }
        for (; i < n; i++) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = i * Float.BYTES;
            float pe = value.get(FLOAT, pb) * decay;
            float g = grad.get(FLOAT, gb);
            float me = m.get(FLOAT, sb);
            me = Math.fma(g - me, coeff, small ? me : g);
            float ve = v.get(FLOAT, sb) * beta2 + c2 * g * g;
            float denom = (float) Math.sqrt(ve) / bc2Sqrt + eps;
            pe = pe + negStepSize * me / denom;
            value.set(FLOAT, pb, pe);
            m.set(FLOAT, sb, me);
            v.set(FLOAT, sb, ve);
        }
    }
}
