package org.reflectrm.kernels.device;

/**
 * The float32 scalars of one SGD step for one parameter (torch.optim.SGD with dampening 0 and
 * nesterov off). Every backend applies them with the same operations, element by element:
 * <pre>
 *   d = fma(p, weightDecay, g)                        (grad.add(param, alpha=wd))
 *   with momentum: d = first ? d : buf · momentum + d  (two roundings), then buf = d
 *   p = fma(d, negLr, p)                              (param.add_(d, alpha=-lr))
 * </pre>
 *
 * @param weightDecay the decay, or 0 for a parameter without it ({@code fma(p, 0, g) == g})
 * @param momentum    the momentum factor; 0 for plain SGD (no buffer)
 * @param first       whether this is the first step, when the buffer takes {@code d} as it is
 * @param negLr       {@code -lr}
 */
public record SgdStep(float weightDecay, float momentum, boolean first, float negLr) {

    /** Whether the step keeps a momentum buffer. */
    public boolean hasMomentum() {
        return momentum != 0f;
    }

    /** A buffer exactly when the step has momentum: a caller that forgot one is told at once. */
    public void requireBuffer(Object momentumBuffer) {
        if (hasMomentum() != (momentumBuffer != null)) {
            throw new IllegalArgumentException(hasMomentum() ? "SGD with momentum " + momentum + " needs a momentum buffer"
                    : "SGD without momentum takes no momentum buffer");
        }
    }
}
