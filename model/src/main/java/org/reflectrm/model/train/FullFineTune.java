package org.reflectrm.model.train;

import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.qwen3.Qwen3Weights;

/**
 * Full fine-tuning: every weight becomes an F32 master copy that the optimizer updates in
 * place, whatever dtype the checkpoint stores. A tied output head stays tied (one parameter,
 * the embedding, receives both gradients).
 */
public final class FullFineTune {
    private FullFineTune() {
    }

    /** Registers every weight of {@code base} in {@code params} and returns a model over them. */
    public static Qwen3Model of(Qwen3Model base, ParameterSet params) {
        Qwen3Weights trainable = base.weights().map(params::add);
        return base.with(trainable, null);
    }
}
