package org.reflectrm.model.train;

/** Training stopped because the loss or the gradient stopped being finite; the last checkpoint is kept. */
public final class TrainingDivergedException extends RuntimeException {
    TrainingDivergedException(String message) {
        super(message);
    }
}
