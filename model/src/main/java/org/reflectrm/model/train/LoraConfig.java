package org.reflectrm.model.train;

import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;

/**
 * LoRA hyper-parameters, as PEFT names them: {@code y = W x + (alpha / rank) · B A dropout(x)}
 * on each targeted linear layer. {@code targets} are module short names ({@code q_proj},
 * {@code down_proj}, ...); the default is every linear layer of the decoder.
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targets) {
    public static final List<String> ALL_LINEAR = Qwen3Model.LINEAR_MODULES.stream()
            .map(m -> m.substring(m.indexOf('.') + 1)).toList();

    public LoraConfig {
        if (rank <= 0) {
            throw new BadInputException("LoRA rank must be positive, got " + rank);
        }
        if (!(alpha > 0)) {
            throw new BadInputException("LoRA alpha must be positive, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new BadInputException("LoRA dropout must be in [0, 1), got " + dropout);
        }
        for (String t : targets) {
            if (!ALL_LINEAR.contains(t)) {
                throw new BadInputException("unknown LoRA target module '" + t + "'; expected some of " + ALL_LINEAR);
            }
        }
        targets = List.copyOf(targets);
    }

    public static LoraConfig of(int rank, double alpha) {
        return new LoraConfig(rank, alpha, 0.0, ALL_LINEAR);
    }

    public double scaling() {
        return alpha / rank;
    }
}
