package org.reflectrm.tensor.optim;

import java.util.List;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.SgdStep;

/**
 * torch.optim.SGD with dampening 0 and nesterov off: {@code g += wd*p}; with momentum,
 * {@code buf = g} on the first step and {@code buf = momentum*buf + g} after; {@code p -= lr*buf}.
 * The arithmetic follows torch's CPU kernels (their vector paths fuse {@code a + alpha*b} into
 * one fma): {@link SgdStep}, applied by the parameters' device ({@link Device#sgd}; on the host
 * {@code CpuSgd}). State per parameter, with momentum only: {@code <name>.momentum_buffer}, which
 * holds zeros until the first step (torch has none yet; the step count tells the two apart).
 */
public final class Sgd extends BaseOptimizer {
    /** torch.optim.SGD's default learning rate, for callers without a schedule. */
    public static final double DEFAULT_LR = 1e-3;

    /** Hyperparameters other than the learning rate; torch's defaults are both 0 (plain SGD). */
    public record Config(double momentum, double weightDecay) {
        public Config {
            if (!(momentum >= 0) || !(weightDecay >= 0) || Double.isInfinite(momentum)
                    || Double.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("momentum " + momentum + " and weight decay " + weightDecay
                        + " must be finite and non-negative");
            }
        }

        public static Config defaults() {
            return new Config(0, 0);
        }
    }

    private final Config config;

    /** SGD over parameters in host memory. */
    public Sgd(List<OptimParam> params, Config config) {
        this(HostParams.device(), params, config);
    }

    /** SGD over parameters in {@code device}'s memory. */
    public Sgd(Device device, List<OptimParam> params, Config config) {
        super(device, params, config.momentum() != 0 ? new String[] {"momentum_buffer"} : new String[0]);
        this.config = config;
    }

    public Config config() {
        return config;
    }

    @Override
    public void step(double lr) {
        checkLr(lr);
        boolean momentum = config.momentum() != 0;
        List<OptimParam> ps = params();
        for (int i = 0; i < ps.size(); i++) {
            OptimParam p = ps.get(i);
            SgdStep step = new SgdStep(p.weightDecay() ? (float) config.weightDecay() : 0f, (float) config.momentum(),
                    steps == 0, (float) -lr);
            device.sgd(p.value(), p.valueOffset(), p.grad(), p.gradOffset(), momentum ? state.get(i, 0) : null, 0,
                    p.size(), step);
        }
        steps++;
    }
}
