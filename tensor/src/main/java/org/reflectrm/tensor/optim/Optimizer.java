package org.reflectrm.tensor.optim;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.reflectrm.kernels.device.Device;

/**
 * A first-order optimizer over F32 parameters that updates them in place from their gradients.
 *
 * <p>The learning rate is an argument of {@link #step} rather than configuration, because a
 * {@link LrSchedule} decides it per step. The state (moments, momentum buffers) lives in memory
 * the optimizer owns until {@link #close}; for checkpoints it is a set of named F32 tensors
 * ({@code <param>.exp_avg}, ...) plus {@link #stepCount()}, which {@link #saveState} hands out and
 * {@link #loadState} copies back, so a resumed run continues bit for bit.
 */
public interface Optimizer extends AutoCloseable {

    /** The device whose memory holds the parameters, their gradients and the state, and runs the update. */
    Device device();

    /** The parameters, in the order given at construction. */
    List<OptimParam> params();

    /** Updates every parameter from its gradient with learning rate {@code lr}; gradients are left as they are. */
    void step(double lr);

    /** How many steps have been taken (torch's {@code state["step"]}). */
    long stepCount();

    /** The names of the state tensors, parameter by parameter, in a fixed order. */
    List<String> stateNames();

    /**
     * Hands each state tensor to {@code sink} as a read-only view of {@code size} native-order F32
     * values, in {@link #stateNames()} order. In host memory the views are live (copy them before
     * the next step); on a GPU each is a copy, downloaded once.
     */
    void saveState(BiConsumer<String, MemorySegment> sink);

    /**
     * Restores the step count and every state tensor, copying (uploading) from the segment {@code source}
     * returns for each name. Every tensor is checked (present, exactly {@code size} floats) before
     * anything is copied, so a failed load changes nothing.
     */
    void loadState(long stepCount, Function<String, MemorySegment> source);

    /** Sets every gradient to zero, for the next accumulation. */
    default void zeroGrad() {
        for (OptimParam p : params()) {
            device().zero(p.grad(), p.gradOffset(), p.size());
        }
    }

    /** Frees the state memory; the optimizer cannot be used afterwards. */
    @Override
    void close();
}
