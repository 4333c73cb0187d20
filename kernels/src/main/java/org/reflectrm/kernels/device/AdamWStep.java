package org.reflectrm.kernels.device;

/**
 * The float32 scalars of one AdamW step for one parameter, computed once per step as torch does
 * (in double, from Python floats, then rounded to float32 once). Every backend applies them with
 * the same operations, element by element:
 * <pre>
 *   p = p · decay
 *   m = lerp(m, g, lerpWeight)      (ATen's lerp: fma(w, g - m, m) for |w| &lt; 0.5, else fma(w - 1, g - m, g))
 *   v = v · beta2 + (oneMinusBeta2 · g) · g
 *   p = p + (negStepSize · m) / (sqrt(v) / bc2Sqrt + eps)
 * </pre>
 *
 * @param decay         {@code 1 - lr·weightDecay}, or exactly 1 for a parameter without decay
 * @param lerpWeight    {@code 1 - beta1}
 * @param beta2         the second moment's decay
 * @param oneMinusBeta2 {@code 1 - beta2}
 * @param bc2Sqrt       {@code sqrt(1 - beta2^t)}
 * @param eps           added to the denominator
 * @param negStepSize   {@code -lr / (1 - beta1^t)}
 */
public record AdamWStep(float decay, float lerpWeight, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps,
                        float negStepSize) {

    /** The scalars of step {@code t} (counted from 1) at learning rate {@code lr}. */
    public static AdamWStep of(double lr, double beta1, double beta2, double eps, double weightDecay, long t,
                               boolean decays) {
        // StrictMath, so that the powers do not depend on the JIT.
        double bc1 = 1 - StrictMath.pow(beta1, t);
        double bc2 = 1 - StrictMath.pow(beta2, t);
        float decay = decays ? (float) (1 - lr * weightDecay) : 1f;  // times 1 is exact: the same as skipping it
        return new AdamWStep(decay, (float) (1 - beta1), (float) beta2, (float) (1 - beta2),
                (float) StrictMath.sqrt(bc2), (float) eps, (float) -(lr / bc1));
    }

    /** Whether the lerp of m uses its small-weight form {@code fma(w, g - m, m)}. */
    public boolean smallLerp() {
        return Math.abs(lerpWeight) < 0.5f;
    }

    /** The lerp's coefficient: {@code w} in the small form, {@code w - 1} in the other. */
    public float lerpCoefficient() {
        return smallLerp() ? lerpWeight : lerpWeight - 1f;
    }
}
