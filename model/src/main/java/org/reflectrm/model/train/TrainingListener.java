package org.reflectrm.model.train;

import java.nio.file.Path;
import org.reflectrm.kernels.device.Transfers;

/** What a training run reports as it goes (the CLI draws a progress bar from it). */
public interface TrainingListener {
    /** One optimizer step's numbers. */
    record StepMetrics(long step, long totalSteps, double epoch, double loss, double lr, double gradNorm,
                       long tokens, double seconds) {
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }
    }

    default void onStep(StepMetrics m) {
    }

    /** On a GPU, after {@link #onStep}: the bytes the step moved across the bus. */
    default void onTransfers(long step, Transfers.Count moved) {
    }

    default void onEval(long step, double evalLoss) {
    }

    default void onSave(long step, Path out) {
    }

    TrainingListener NONE = new TrainingListener() {
    };
}
