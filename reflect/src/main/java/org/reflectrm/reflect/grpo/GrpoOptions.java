package org.reflectrm.reflect.grpo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.reflectrm.model.BadInputException;

/**
 * GRPO's own settings (the optimizer's are {@link org.reflectrm.model.train.TrainOptions}).
 * Names and defaults follow TRL's {@code GRPOConfig}.
 *
 * @param group          rollouts per prompt (TRL's {@code num_generations})
 * @param promptsPerStep prompts per generation batch; a batch is group × promptsPerStep rollouts
 * @param generations    generation batches to run; 0 means {@code epochs} passes over the data
 * @param numIterations  optimizer steps on each generation batch (TRL's μ, {@code num_iterations})
 * @param maxNewTokens   longest completion (TRL's {@code max_completion_length})
 * @param formatPenalty  reward of an unparseable judgment is −formatPenalty instead of 0
 * @param microBatch     rollouts per forward/backward pass (memory only: the loss is the step's)
 * @param logRollouts    a JSONL file for every rollout, or null
 */
public record GrpoOptions(int group, int promptsPerStep, long generations, double epochs, int numIterations,
                          int maxNewTokens, GrpoLoss.Settings loss, Advantages.Scale scale, double formatPenalty,
                          int microBatch, long saveEvery, long stopAfter, Path logRollouts) {
    public GrpoOptions {
        if (group < 2) {
            throw new BadInputException("--group must be at least 2: advantages compare a prompt's rollouts");
        }
        if (promptsPerStep < 1 || microBatch < 1) {
            throw new BadInputException("--prompts-per-step and --micro-batch must be at least 1");
        }
        if (generations < 0 || (generations == 0 && !(epochs > 0))) {
            throw new BadInputException("give a positive number of steps or epochs");
        }
        if (numIterations < 1) {
            throw new BadInputException("--num-iterations must be at least 1, got " + numIterations);
        }
        if (saveEvery % numIterations != 0 || stopAfter % numIterations != 0) {
            throw new BadInputException("--save-every must be a multiple of --num-iterations (" + numIterations
                    + "): a checkpoint falls between generation batches, so a resumed run samples afresh");
        }
        if (!(formatPenalty >= 0)) {
            throw new BadInputException("--format-penalty must not be negative");
        }
    }

    /** Settings that shape the run, for the resume check. */
    ObjectNode trajectoryJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("method", "grpo");
        o.put("group", group);
        o.put("prompts_per_step", promptsPerStep);
        o.put("generations", generations);
        o.put("epochs", epochs);
        o.put("num_iterations", numIterations);
        o.put("max_new_tokens", maxNewTokens);
        o.put("loss_type", loss.type().id());
        o.put("epsilon", loss.epsilonLow());
        o.put("epsilon_high", loss.epsilonHigh());
        o.put("beta", loss.beta());
        o.put("kl_bias_correction", loss.klBiasCorrection());
        o.put("temperature", loss.temperature());
        o.put("scale_rewards", scale.name().toLowerCase(java.util.Locale.ROOT));
        o.put("format_penalty", formatPenalty);
        o.put("micro_batch", microBatch);
        return o;
    }
}
