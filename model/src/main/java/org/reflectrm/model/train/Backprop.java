package org.reflectrm.model.train;

import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Tape;
import org.reflectrm.tensor.Tensor;

/** One forward and backward pass of the next-token loss. */
public final class Backprop {
    private Backprop() {
    }

    /** Positions counted by the masks (each {@code mask[t]} means token t+1 is a target). */
    public static long countTargets(List<boolean[]> masks) {
        long n = 0;
        for (boolean[] m : masks) {
            for (boolean b : m) {
                n += b ? 1 : 0;
            }
        }
        return n;
    }

    /**
     * Runs the loss {@code Σ CE / normalizer} of {@code sequences} forward and backward on
     * {@code model} (whose trainable tensors are parameters), adding the gradients into the
     * parameters' gradient buffers. Activations live in {@code scratch} (on the device the
     * model's tensors are on), which is reset after.
     * Returns the loss.
     */
    public static double lossAndGradients(Qwen3Model model, Allocator scratch,
                                          List<int[]> sequences, List<boolean[]> masks, double normalizer) {
        if (!(normalizer > 0)) {
            throw new BadInputException("the loss mask counts no positions: nothing to train on");
        }
        Tape tape = new Tape(scratch);
        try {
            Ops ops = new Ops(scratch, tape);
            Tensor loss = model.loss(ops, sequences, masks, normalizer);
            double value = loss.getFloat(0);
            if (loss.requiresGrad()) {
                tape.backward(loss, 1f);
            }
            return value;
        } finally {
            tape.clear();
            scratch.reset();
        }
    }

    /** The loss alone, recording nothing (evaluation). */
    public static double loss(Qwen3Model model, Allocator scratch,
                              List<int[]> sequences, List<boolean[]> masks, double normalizer) {
        try {
            return model.loss(new Ops(scratch), sequences, masks, normalizer).getFloat(0);
        } finally {
            scratch.reset();
        }
    }
}
