package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.SftBatcher;
import java.util.List;
import org.reflectrm.tensor.optim.AdamW;
import org.reflectrm.tensor.optim.LrSchedule;
import org.reflectrm.tensor.optim.OptimParam;
import org.reflectrm.tensor.optim.Optimizer;
import org.reflectrm.tensor.optim.Sgd;

/**
 * Settings of one SFT run. Defaults follow transformers' {@code TrainingArguments} where it has
 * one (AdamW betas 0.9/0.999, eps 1e-8, weight decay 0, gradient clipping at 1.0, linear decay).
 *
 * @param steps      optimizer steps; 0 means {@code epochs} passes over the data
 * @param batch      examples per micro-batch (PAD), or the micro-batch budget in units of maxLen tokens (PACK)
 * @param gradAccum  micro-batches per optimizer step
 * @param schedule   "constant", "linear" or "cosine" decay after the warmup
 * @param saveEvery  write a checkpoint every N steps (0: only at the end)
 * @param evalEvery  evaluate every N steps (0: only at the end); needs an eval split
 * @param saveDtype  dtype of a saved full model (null: F32, the master weights as trained)
 * @param lora       null for full fine-tuning
 * @param stopAfter  stop after this step as if interrupted (0: run to the end); for testing resume
 * @param checkpointLayers recompute each decoder layer in backward instead of keeping its activations
 * @param optimizer  "adamw" (betas, eps, decoupled weight decay) or "sgd" (momentum, L2 weight decay)
 */
public record TrainOptions(long steps, double epochs, double lr, int batch, int gradAccum, int maxLen,
                           SftBatcher.Mode packing, String schedule, long warmupSteps, double weightDecay,
                           double beta1, double beta2, double adamEps, double maxGradNorm, long seed,
                           long saveEvery, long evalEvery, DType saveDtype, LoraConfig lora, long stopAfter,
                           boolean checkpointLayers, String optimizer, double momentum) {

    public TrainOptions {
        if (steps < 0 || (steps == 0 && !(epochs > 0))) {
            throw new BadInputException("give a positive number of steps or epochs");
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new BadInputException("--lr must be positive, got " + lr);
        }
        if (batch < 1 || gradAccum < 1 || maxLen < 2) {
            throw new BadInputException("--batch and --grad-accum must be at least 1 and --max-len at least 2");
        }
        if (!schedule.equals("constant") && !schedule.equals("linear") && !schedule.equals("cosine")) {
            throw new BadInputException("--schedule must be constant, linear or cosine, got " + schedule);
        }
        if (!optimizer.equals("adamw") && !optimizer.equals("sgd")) {
            throw new BadInputException("--optimizer must be adamw or sgd, got " + optimizer);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new BadInputException("--momentum must be in [0, 1), got " + momentum);
        }
        if (warmupSteps < 0 || weightDecay < 0 || maxGradNorm < 0) {
            throw new BadInputException("--warmup, --weight-decay and --max-grad-norm must not be negative");
        }
    }

    /** Defaults for a run of {@code steps} steps (full fine-tuning). */
    public static TrainOptions defaults(long steps) {
        return new TrainOptions(steps, 1, 2e-5, 4, 1, 1024, SftBatcher.Mode.PAD, "linear", 0, 0.0, 0.9, 0.999,
                1e-8, 1.0, 42, 0, 0, null, null, 0, false, "adamw", 0);
    }

    public TrainOptions withLora(LoraConfig config) {
        return new TrainOptions(steps, epochs, lr, batch, gradAccum, maxLen, packing, schedule, warmupSteps, weightDecay,
                beta1, beta2, adamEps, maxGradNorm, seed, saveEvery, evalEvery, saveDtype, config, stopAfter, checkpointLayers, optimizer, momentum);
    }

    public TrainOptions withStopAfter(long step) {
        return new TrainOptions(steps, epochs, lr, batch, gradAccum, maxLen, packing, schedule, warmupSteps, weightDecay,
                beta1, beta2, adamEps, maxGradNorm, seed, saveEvery, evalEvery, saveDtype, lora, step, checkpointLayers, optimizer, momentum);
    }

    public TrainOptions withCheckpointLayers(boolean on) {
        return new TrainOptions(steps, epochs, lr, batch, gradAccum, maxLen, packing, schedule, warmupSteps, weightDecay,
                beta1, beta2, adamEps, maxGradNorm, seed, saveEvery, evalEvery, saveDtype, lora, stopAfter, on, optimizer, momentum);
    }

    /** The optimizer these options describe, over {@code params} in {@code device}'s memory. */
    public Optimizer newOptimizer(Device device, List<OptimParam> params) {
        return optimizer.equals("sgd") ? new Sgd(device, params, new Sgd.Config(momentum, weightDecay))
                : new AdamW(device, params, new AdamW.Config(beta1, beta2, adamEps, weightDecay));
    }

    public LrSchedule lrSchedule(long totalSteps) {
        return switch (schedule) {
            case "constant" -> LrSchedule.constantWithWarmup(lr, warmupSteps);
            case "cosine" -> LrSchedule.cosineWithWarmup(lr, warmupSteps, totalSteps);
            default -> LrSchedule.linearWithWarmup(lr, warmupSteps, totalSteps);
        };
    }

    /**
     * What a resumed run must share with the interrupted one for the result to be the same run:
     * everything that shapes the trajectory (not when to save, evaluate or stop).
     */
    public ObjectNode trajectoryJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("steps", steps);
        o.put("epochs", epochs);
        o.put("lr", lr);
        o.put("batch", batch);
        o.put("grad_accum", gradAccum);
        o.put("max_len", maxLen);
        o.put("packing", packing.name());
        o.put("schedule", schedule);
        o.put("warmup_steps", warmupSteps);
        o.put("weight_decay", weightDecay);
        o.put("beta1", beta1);
        o.put("beta2", beta2);
        o.put("adam_eps", adamEps);
        o.put("max_grad_norm", maxGradNorm);
        o.put("seed", seed);
        o.put("optimizer", optimizer);
        o.put("momentum", momentum);
        if (lora != null) {
            o.put("lora_rank", lora.rank());
            o.put("lora_alpha", lora.alpha());
            o.put("lora_dropout", lora.dropout());
            o.put("lora_targets", String.join(",", lora.targets()));
        }
        return o;
    }
}
