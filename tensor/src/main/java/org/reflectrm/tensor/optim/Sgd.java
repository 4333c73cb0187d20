package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;

/**
 * torch.optim.SGD with dampening 0 and nesterov off: {@code g += wd*p}; with momentum,
 * {@code buf = g} on the first step and {@code buf = momentum*buf + g} after; {@code p -= lr*buf}.
 * The arithmetic follows torch's CPU kernels (their vector paths fuse {@code a + alpha*b} into
 * one fma). State per parameter, with momentum only: {@code <name>.momentum_buffer}, which holds
 * zeros until the first step (torch has none yet; the step count tells the two apart).
 * Host memory only: there is no SGD kernel on the GPUs, which take AdamW.
 */
public final class Sgd extends BaseOptimizer {
    /** torch.optim.SGD's default learning rate, for callers without a schedule. */
    public static final double DEFAULT_LR = 1e-3;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

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

    /** SGD over parameters in {@code device}'s memory, which must be the host's. */
    public Sgd(Device device, List<OptimParam> params, Config config) {
        super(requireHost(device), params, config.momentum() != 0 ? new String[] {"momentum_buffer"} : new String[0]);
        this.config = config;
    }

    private static Device requireHost(Device device) {
        if (!(device instanceof HostDevice)) {
            throw new UnsupportedOperationException("SGD runs on the CPU only, not on the " + device.kind()
                    + " device: use AdamW there");
        }
        return device;
    }

    public Config config() {
        return config;
    }

    @Override
    public void step(double lr) {
        checkLr(lr);
        boolean momentum = config.momentum() != 0;
        boolean first = steps == 0;
        float mom = (float) config.momentum();
        float negLr = (float) -lr;
        List<OptimParam> ps = params();
        for (int i = 0; i < ps.size(); i++) {
            OptimParam p = ps.get(i);
            float wd = p.weightDecay() ? (float) config.weightDecay() : 0f;
            update(p, momentum ? HostDevice.segment(state.get(i, 0)) : null, first, mom, wd, negLr);
        }
        steps++;
    }

    /** {@code buf} is null without momentum. */
    private static void update(OptimParam p, MemorySegment buf, boolean first, float mom, float wd, float negLr) {
        MemorySegment value = HostDevice.segment(p.value());
        MemorySegment grad = HostDevice.segment(p.grad());
        long pOff = p.valueOffset() * Float.BYTES;
        long gOff = p.gradOffset() * Float.BYTES;
        long n = p.size();
        // Branches below are per call, not per element; fma(p, 0, g) == g, so wd 0 needs no branch.
        FloatVector wdV = FloatVector.broadcast(F, wd), negLrV = FloatVector.broadcast(F, negLr);
        long i = 0;
        long bound = n - n % F.length();
        for (; i < bound; i += F.length()) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = i * Float.BYTES;
            FloatVector pv = FloatVector.fromMemorySegment(F, value, pb, NATIVE);
            FloatVector gv = FloatVector.fromMemorySegment(F, grad, gb, NATIVE);
            FloatVector d = pv.fma(wdV, gv);                             // grad.add(param, alpha=wd)
            if (buf != null) {
                if (!first) {
                    d = FloatVector.fromMemorySegment(F, buf, sb, NATIVE).mul(mom).add(d);
                }
                d.intoMemorySegment(buf, sb, NATIVE);
            }
            pv = d.fma(negLrV, pv);                                      // param.add_(d, alpha=-lr)
            pv.intoMemorySegment(value, pb, NATIVE);
        }
        for (; i < n; i++) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = i * Float.BYTES;
            float pe = value.get(FLOAT, pb);
            float d = Math.fma(pe, wd, grad.get(FLOAT, gb));
            if (buf != null) {
                if (!first) {
                    d = buf.get(FLOAT, sb) * mom + d;
                }
                buf.set(FLOAT, sb, d);
            }
            value.set(FLOAT, pb, Math.fma(d, negLr, pe));
        }
    }
}
