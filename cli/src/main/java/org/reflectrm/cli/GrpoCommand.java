package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.TrainOptions;
import org.reflectrm.model.train.TrainingDivergedException;
import org.reflectrm.model.train.data.SftBatcher;
import org.reflectrm.reflect.grpo.Advantages;
import org.reflectrm.reflect.grpo.GrpoLoss;
import org.reflectrm.reflect.grpo.GrpoOptions;
import org.reflectrm.reflect.grpo.GrpoPrompt;
import org.reflectrm.reflect.grpo.GrpoTrainer;
import org.reflectrm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j train grpo}: ReflectRM's unified GRPO with the verdict reward. */
@Command(name = "grpo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"GRPO with the verdict reward on `data build` records (Pref and Refl prompts mixed, or Pref only "
                + "for the RFT baseline): each step samples --group judgments per prompt, rewards 1 for a parsed verdict "
                + "that names the better candidate, and optimises TRL's GRPO loss on the group-relative advantages.",
                "Writes to --out: the model (full: safetensors + config.json + tokenizer files; LoRA: a PEFT adapter), "
                        + "reflectrm.json (the judge template it was trained with), metrics.jsonl, and trainer_state/ "
                        + "for --resume."})
final class GrpoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "GRPO records from `reflectrm-j data build`.")
    java.nio.file.Path data;

    @Mixin
    FineTuneOptions tune;

    @Option(names = "--group", paramLabel = "G", defaultValue = "8", description = "Judgments sampled per prompt (TRL's num_generations; default ${DEFAULT-VALUE}).")
    int group;

    @Option(names = "--prompts-per-step", paramLabel = "B", defaultValue = "8", description = "Prompts per generation batch (default ${DEFAULT-VALUE}); a batch is B x G rollouts.")
    int promptsPerStep;

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: --epochs over the data).")
    Long steps;

    @Option(names = "--epochs", paramLabel = "E", defaultValue = "1", description = "Passes over the prompts when --steps is not given (default ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--loss-type", paramLabel = "T", defaultValue = "dapo", description = "dapo, grpo, dr_grpo or bnpo: how token losses are averaged (TRL's; default ${DEFAULT-VALUE}).")
    String lossType;

    @Option(names = "--scale-rewards", paramLabel = "S", defaultValue = "group", description = "Divide advantages by the std of the group, the batch, or none (default ${DEFAULT-VALUE}).")
    String scaleRewards;

    @Option(names = "--epsilon", paramLabel = "E", defaultValue = "0.2", description = "Lower clip of the token ratio: 1 - E (default ${DEFAULT-VALUE}).")
    double epsilon;

    @Option(names = "--epsilon-high", paramLabel = "E", description = "Upper clip: 1 + E (default: --epsilon).")
    Double epsilonHigh;

    @Option(names = "--beta", paramLabel = "B", defaultValue = "0", description = "Weight of the k3 KL to the starting model (default ${DEFAULT-VALUE}: no reference pass).")
    double beta;

    @Option(names = "--kl-bias-correction", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Weight the KL term by the token ratio, as TRL does by default (default ${DEFAULT-VALUE}).")
    boolean klBiasCorrection;

    @Option(names = "--num-iterations", paramLabel = "MU", defaultValue = "1", description = "Optimizer steps per generation batch (TRL's mu; default ${DEFAULT-VALUE}).")
    int numIterations;

    @Option(names = "--max-new-tokens", paramLabel = "K", defaultValue = "512", description = "Longest judgment (TRL's max_completion_length; default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature; the loss uses the same tempered distribution (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--format-penalty", paramLabel = "P", defaultValue = "0", description = "Reward of an unparseable judgment is -P instead of 0 (default ${DEFAULT-VALUE}).")
    double formatPenalty;

    @Option(names = "--micro-batch", paramLabel = "M", defaultValue = "8", description = "Rollouts per forward/backward pass: bounds memory, the loss stays the step's (default ${DEFAULT-VALUE}).")
    int microBatch;

    @Option(names = "--log-rollouts", paramLabel = "FILE", description = "Append every rollout as a JSON line: step, prompt_index, prompt_ids, completion_ids, reward, advantage, old_logprobs.")
    java.nio.file.Path logRollouts;

    @Option(names = "--json", description = "Print a JSON summary on stdout.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        // One run per --out: a second one is refused while this one holds the folder.
        try (OutputLock lock = tune.lockOut(common.model)) {
            return train();
        }
    }

    private Integer train() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        tune.checkOut(common.model);
        if (numIterations < 1) {
            throw new BadInputException("--num-iterations must be at least 1, got " + numIterations);
        }
        if (steps != null && (steps < 1 || steps % numIterations != 0)) {
            throw new BadInputException("--steps must be a positive multiple of --num-iterations (" + numIterations + "), got " + steps);
        }
        GrpoLoss.Settings loss = new GrpoLoss.Settings(GrpoLoss.Type.parse(lossType), epsilon,
                epsilonHigh != null ? epsilonHigh : epsilon, beta, klBiasCorrection, temperature, maxNewTokens);
        GrpoOptions options = new GrpoOptions(group, promptsPerStep, steps == null ? 0 : steps / numIterations, epochs,
                numIterations, maxNewTokens, loss, Advantages.Scale.parse(scaleRewards), formatPenalty, microBatch,
                tune.saveEvery, tune.stopAfter, logRollouts);
        TrainOptions train = tune.trainOptions(1, 1, 1, 1, 2, SftBatcher.Mode.PAD, 0, 1e-6, 1e-6);
        List<GrpoPrompt> prompts = GrpoPrompt.load(data);
        long pref = prompts.stream().filter(p -> p.task().equals("pref")).count();
        err.printf("%s: %d prompts (%d pref, %d refl), template %s%n", data, prompts.size(), pref, prompts.size() - pref,
                prompts.getFirst().templateVersion());
        err.flush();
        Tokenizer tokenizer = TokenizerFiles.load(common.model, "--model");
        ProgressLine progress = new ProgressLine(err);
        GrpoTrainer.Listener listener = new GrpoTrainer.Listener() {
            @Override
            public void onGrpoStep(ObjectNode m) {
                long step = m.get("step").asLong(), total = m.get("total_steps").asLong();
                progress.show(String.format("%s step %d/%d  reward %.3f  parsed %.2f  loss %.4f  gen %.0f tok/s  train %.0f tok/s",
                        ProgressLine.bar((double) step / total, 24), step, total, m.get("reward_mean").asDouble(),
                        m.get("parse_rate").asDouble(), m.get("loss").asDouble(), m.get("gen_tokens_per_s").asDouble(),
                        m.get("train_tokens_per_s").asDouble()));
                if (common.verbose && m.has("bytes_up")) {
                    progress.finish();
                    err.println(SftCommand.busLine(step, m.get("bytes_up").asLong(), m.get("bytes_down").asLong()));
                    err.flush();
                }
            }
        };
        GrpoTrainer.Result result;
        try (Backend backend = common.backend(); Device device = common.computeDevice(backend);
             Qwen3Model base = common.loadModel()) {
            result = new GrpoTrainer(common.model, base, device, tokenizer,
                    TokenizerFiles.chatTemplate(tokenizer, common.model), train, options, tune.out, listener)
                    .run(prompts, tune.resume);
        } catch (TrainingDivergedException e) {
            progress.finish();
            err.println("reflectrm-j: training stopped: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        progress.finish();
        boolean ran = !Double.isNaN(result.rewardMean());
        err.printf("trained %d/%d steps (%s), %s; saved to %s%n", result.step(), result.totalSteps(),
                train.lora() == null ? "full" : "LoRA r=" + train.lora().rank(),
                ran ? String.format("last mean reward %.3f", result.rewardMean()) : "the saved run was already complete",
                tune.out);
        err.flush();
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("steps", result.step());
            o.put("total_steps", result.totalSteps());
            if (ran) {
                o.put("reward_mean", result.rewardMean());
            } else {
                o.putNull("reward_mean");
            }
            o.put("out", tune.out.toString());
            spec.commandLine().getOut().println(o);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
