package org.reflectrm.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;

/**
 * Reverse-mode autograd: while recording, every op whose inputs need a gradient appends its
 * backward step here. Ops run in an order where each input exists before its use, so replaying
 * the steps in reverse is a topological order of the graph: by the time a step runs, every use
 * of its output has already added its share to the output's gradient.
 *
 * <p>Gradients of intermediate tensors come zeroed from the tape's allocator and live until
 * {@link #clear}; parameters bring their own gradient buffers (see {@link Tensor#parameter}),
 * which accumulate across backward calls until the caller zeroes them.
 */
public final class Tape {
    /** One op's backward: reads its output's gradient, adds into its inputs' gradients. */
    @FunctionalInterface
    public interface Step {
        void run();
    }

    private final Device device;
    private final Allocator allocator;
    private final List<Step> steps = new ArrayList<>();
    private boolean recording = true;
    private boolean consumed;

    public Tape(Allocator allocator) {
        this.device = allocator.device();
        this.allocator = allocator;
    }

    /** Whether ops currently record (false inside {@link #noGrad}). */
    public boolean recording() {
        return recording;
    }

    /** A scope in which ops record nothing and return tensors without gradients; scopes nest. */
    public NoGrad noGrad() {
        boolean previous = recording;
        recording = false;
        return new NoGrad(this, previous);
    }

    /** Closing it restores the recording state from before {@link #noGrad}. */
    public record NoGrad(Tape tape, boolean previous) implements AutoCloseable {
        @Override
        public void close() {
            tape.recording = previous;
        }
    }

    /** True when recording and one of {@code inputs} needs a gradient: the op must record. */
    boolean tracks(Tensor... inputs) {
        if (!recording) {
            return false;
        }
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad()) {
                return true;
            }
        }
        return false;
    }

    void record(Step step) {
        steps.add(step);
    }

    /** Number of recorded steps (for tests and diagnostics). */
    public int size() {
        return steps.size();
    }

    /**
     * Runs backward from {@code root}, seeding its gradient with {@code seed} in every element
     * (1 for a loss; 1/k to average over k accumulated micro-batches). Runs once per recorded
     * graph: call {@link #clear} before recording the next forward.
     */
    public void backward(Tensor root, float seed) {
        Tensor g = seedGradient(root);
        for (long i = 0; i < g.numel(); i++) {
            g.setFloat(i, g.getFloat(i) + seed);
        }
        replay();
    }

    /** Runs backward from {@code root} with {@code rootGrad} (same shape) as its gradient. */
    public void backward(Tensor root, Tensor rootGrad) {
        Tensor g = seedGradient(root);
        device.add(g.buffer(), g.offset(), rootGrad.buffer(), rootGrad.offset(), g.buffer(), g.offset(), g.numel());
        replay();
    }

    private Tensor seedGradient(Tensor root) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward from a tensor that does not require a gradient");
        }
        if (consumed) {
            // A second pass would add the intermediate gradients of the first one in again.
            throw new IllegalStateException("backward already ran on this graph; clear() the tape and record a new forward");
        }
        consumed = true;
        return gradOf(root);
    }

    /**
     * The steps in reverse. Between a block's end and start markers the tape takes an allocator
     * mark and releases it when the block is done: the gradients and temporaries of a block's
     * insides are dead once its backward has run, so backward memory is one block's worth
     * instead of the whole graph's. Only the block input's gradient must outlive the block; it
     * is allocated before the mark.
     */
    private void replay() {
        Deque<Long> marks = new ArrayDeque<>();
        for (int i = steps.size() - 1; i >= 0; i--) {
            Step step = steps.get(i);
            if (step instanceof BlockEnd end) {
                gradOf(end.input());
                marks.push(allocator.mark());
            } else if (step instanceof BlockStart) {
                allocator.release(marks.pop());
            } else {
                step.run();
            }
        }
    }

    private record BlockStart() implements Step {
        @Override
        public void run() {
        }
    }

    private record BlockEnd(Tensor input) implements Step {
        @Override
        public void run() {
        }
    }

    /**
     * Brackets a self-contained block of ops (a decoder layer) whose only input from outside
     * that needs a gradient is {@code input}; see {@link #replay}. Call {@link #endBlock} with
     * the same input after the block's last op.
     */
    public void beginBlock() {
        if (recording) {
            steps.add(new BlockStart());
        }
    }

    public void endBlock(Tensor input) {
        if (recording) {
            steps.add(new BlockEnd(input));
        }
    }

    /** Forgets the recorded graph; tensors and gradients from the allocator are the caller's to reset. */
    public void clear() {
        steps.clear();
        consumed = false;
    }

    /**
     * The gradient of {@code t} to accumulate into, allocated and zeroed on first use; null when
     * {@code t} needs no gradient.
     */
    Tensor gradOf(Tensor t) {
        GradSlot slot = t.slot();
        if (slot == null) {
            return null;
        }
        if (slot.grad == null) {
            Tensor g = new Tensor(allocator.allocate(Math.max(1, slot.numel) * 4), 0, DType.F32, (int) slot.numel);
            device.zero(g.buffer(), g.offset(), slot.numel);
            slot.grad = g;
        }
        return t.gradView();
    }

    /** The gradient that flowed into {@code t}, or null when nothing did (its step can be skipped). */
    Tensor incoming(Tensor t) {
        return t.slot() == null || t.slot().grad == null ? null : t.gradView();
    }
}
