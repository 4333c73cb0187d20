package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.reflectrm.kernels.device.Device;

/**
 * What every optimizer here shares: the parameters' device, the parameters, the named state
 * tensors (on that device) and the step count.
 */
abstract sealed class BaseOptimizer implements Optimizer permits AdamW, Sgd {
    protected final Device device;
    protected final StateTensors state;
    protected long steps;

    BaseOptimizer(Device device, List<OptimParam> params, String... stateKinds) {
        this.device = device;
        this.state = new StateTensors(device, params, stateKinds);
    }

    @Override
    public final Device device() {
        return device;
    }

    @Override
    public final List<OptimParam> params() {
        return state.params();
    }

    @Override
    public final long stepCount() {
        return steps;
    }

    @Override
    public final List<String> stateNames() {
        return state.names();
    }

    @Override
    public final void saveState(BiConsumer<String, MemorySegment> sink) {
        state.save(sink);
    }

    @Override
    public final void loadState(long stepCount, Function<String, MemorySegment> source) {
        if (stepCount < 0) {
            throw new IllegalArgumentException("step count " + stepCount + " is negative");
        }
        state.load(source);
        steps = stepCount;
    }

    @Override
    public final void close() {
        state.close();
    }

    static void checkLr(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate " + lr + " is not a finite non-negative number");
        }
    }
}
