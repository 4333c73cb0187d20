package org.reflectrm.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.LoraConfig;
import org.reflectrm.model.train.TrainOptions;
import org.reflectrm.model.train.data.SftBatcher;
import picocli.CommandLine.Option;

/**
 * The options every fine-tuning command shares ({@code train sft}, {@code train grpo}): output
 * folder and resume, full or LoRA, optimizer, schedule, clipping, seed and checkpoints.
 */
final class FineTuneOptions {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--lr", paramLabel = "X", description = "Peak learning rate (default: sft 2e-5 full, 2e-4 LoRA; grpo 1e-6, TRL's).")
    Double lr;

    @Option(names = "--lora-rank", paramLabel = "R", description = "Train a LoRA adapter of this rank instead of every weight.")
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha (default: 2 x rank).")
    Double loraAlpha;

    @Option(names = "--lora-dropout", paramLabel = "P", defaultValue = "0", description = "LoRA dropout (default ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--lora-targets", paramLabel = "LIST", split = ",", description = "LoRA target modules (default: all linear layers: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj).")
    List<String> loraTargets;

    @Option(names = "--schedule", paramLabel = "S", defaultValue = "linear", description = "LR decay after warmup: constant, linear or cosine (default ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "0", description = "Warmup steps (default ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--optimizer", paramLabel = "O", defaultValue = "adamw", description = "adamw (betas 0.9/0.999, eps 1e-8) or sgd (default ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0", description = "SGD momentum (default ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", paramLabel = "W", defaultValue = "0", description = "Weight decay (AdamW: decoupled; SGD: L2); norm weights are exempt (default ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--max-grad-norm", paramLabel = "G", defaultValue = "1.0", description = "Clip gradients to this global norm; 0 turns clipping off (default ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of data order, sampling, LoRA init and dropout (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--save-every", paramLabel = "N", defaultValue = "0", description = "Checkpoint every N steps and at the end (default: at the end only).")
    long saveEvery;

    @Option(names = "--save-dtype", paramLabel = "T", description = "dtype of a saved full model: F32, BF16 or F16 (default F32, the weights as trained; BF16 rounds away small updates).")
    String saveDtype;

    @Option(names = "--gradient-checkpointing", description = "Recompute each decoder layer in backward instead of keeping its activations: much less memory, about a third more compute.")
    boolean gradientCheckpointing;

    @Option(names = "--resume", description = "Continue the run saved in --out (same options); gives the same weights as an uninterrupted run.")
    boolean resume;

    @Option(names = "--stop-after", paramLabel = "N", defaultValue = "0", hidden = true, description = "Stop after step N as if interrupted (tests).")
    long stopAfter;

    /**
     * Takes the one-writer lock on --out ({@code --out/.lock}, see {@link OutputLock}) for the whole run,
     * after refusing an --out that is the base model.
     */
    OutputLock lockOut(Path model) throws java.io.IOException {
        checkNotBase(model);
        return OutputLock.folder(out, "--out", "add --resume to the same command to go on from its last checkpoint "
                + "(" + out.resolve("trainer_state") + "; if there is none yet, rerun the command as it was)");
    }

    private void checkNotBase(Path model) {
        if (out.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new BadInputException("--out must differ from --model: the base is read while the trained model is written");
        }
    }

    /** Refuses an output folder that would overwrite the base, or a resume that does not match the folder. */
    void checkOut(Path model) {
        checkNotBase(model);
        if (resume && !Files.isRegularFile(out.resolve("trainer_state").resolve("state.json"))) {
            throw new BadInputException("--resume: " + out + " holds no saved run (trainer_state/state.json); "
                    + "start without --resume");
        }
        // state.json is a checkpoint's commit point: trainer_state/ without it is a first checkpoint a
        // kill interrupted, which --resume cannot use and a fresh run replaces.
        if (!resume && Files.isRegularFile(out.resolve("trainer_state").resolve("state.json"))) {
            throw new BadInputException("--out " + out + " holds a training run; pass --resume to continue it or choose another folder");
        }
    }

    /** The run's settings; {@code fullLr} and {@code loraLr} are the command's default learning rates. */
    TrainOptions trainOptions(long steps, double epochs, int batch, int gradAccum, int maxLen, SftBatcher.Mode mode,
                              long evalEvery, double fullLr, double loraLr) {
        LoraConfig lora = null;
        if (loraRank != null) {
            lora = new LoraConfig(loraRank, loraAlpha != null ? loraAlpha : 2.0 * loraRank, loraDropout,
                    loraTargets != null ? loraTargets : LoraConfig.ALL_LINEAR);
        } else if (loraAlpha != null || loraTargets != null || loraDropout != 0) {
            throw new BadInputException("--lora-alpha, --lora-dropout and --lora-targets need --lora-rank");
        }
        DType dtype = null;
        if (saveDtype != null) {
            dtype = DType.fromFlag(saveDtype);
            if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
                throw new BadInputException("--save-dtype must be F32, BF16 or F16, got " + saveDtype);
            }
        }
        double rate = lr != null ? lr : lora != null ? loraLr : fullLr;
        return new TrainOptions(steps, epochs, rate, batch, gradAccum, maxLen, mode, schedule, warmup, weightDecay, 0.9,
                0.999, 1e-8, maxGradNorm, seed, saveEvery, evalEvery, dtype, lora, stopAfter, gradientCheckpointing,
                optimizer, momentum);
    }
}
