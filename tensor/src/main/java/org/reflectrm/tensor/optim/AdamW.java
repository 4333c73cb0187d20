package org.reflectrm.tensor.optim;

import java.util.List;
import org.reflectrm.kernels.cpu.CpuAdamW;
import org.reflectrm.kernels.device.AdamWStep;
import org.reflectrm.kernels.device.Device;

/**
 * torch.optim.AdamW, step for step: decoupled weight decay {@code p *= 1 - lr*wd}, then
 * {@code m = lerp(m, g, 1-b1)}, {@code v = b2*v + (1-b2)*g*g}, and
 * {@code p -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)} with {@code bc_i = 1 - b_i^t}.
 *
 * <p>The arithmetic follows torch's CPU kernels operation by operation ({@link AdamWStep} and
 * {@link CpuAdamW}; the GPU backends apply the same steps), so results agree with torch to an ulp
 * or so rather than merely to a tolerance. The update runs on the parameters' device
 * ({@link Device#adamW}), where the moments live too: a step moves nothing across the bus.
 * State per parameter: {@code <name>.exp_avg} and {@code <name>.exp_avg_sq}.
 */
public final class AdamW extends BaseOptimizer {
    /** torch.optim.AdamW's default learning rate, for callers without a schedule. */
    public static final double DEFAULT_LR = 1e-3;

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

    /** AdamW over parameters in host memory, stepped on the calling thread. */
    public AdamW(List<OptimParam> params, Config config) {
        this(HostParams.device(), params, config);
    }

    /** AdamW over parameters in {@code device}'s memory; the moments are allocated there. */
    public AdamW(Device device, List<OptimParam> params, Config config) {
        super(device, params, "exp_avg", "exp_avg_sq");
        this.config = config;
    }

    public Config config() {
        return config;
    }

    @Override
    public void step(double lr) {
        checkLr(lr);
        long t = ++steps;
        List<OptimParam> ps = params();
        for (int i = 0; i < ps.size(); i++) {
            OptimParam p = ps.get(i);
            AdamWStep s = AdamWStep.of(lr, config.beta1(), config.beta2(), config.eps(), config.weightDecay(), t,
                    p.weightDecay());
            device.adamW(p.value(), p.valueOffset(), p.grad(), p.gradOffset(), state.get(i, 0), 0,
                    state.get(i, 1), 0, p.size(), s);
        }
    }
}
