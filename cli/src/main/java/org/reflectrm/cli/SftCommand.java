package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.SftTrainer;
import org.reflectrm.model.train.TrainingDivergedException;
import org.reflectrm.model.train.TrainOptions;
import org.reflectrm.model.train.TrainingListener;
import org.reflectrm.model.train.data.SftBatcher;
import org.reflectrm.model.train.data.SftDataOptions;
import org.reflectrm.model.train.data.SftDataStats;
import org.reflectrm.model.train.data.SftDataset;
import org.reflectrm.model.train.data.SftExample;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j train sft}: supervised fine-tuning on chat or prompt/completion JSONL. */
@Command(name = "sft", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Supervised fine-tuning, full or LoRA, on JSONL with {\"messages\": [...]} or "
                + "{\"prompt\", \"completion\"} per line, rendered with the model's chat template; the loss covers "
                + "assistant/completion tokens only.",
                "Writes to --out: the model (full: safetensors + config.json + tokenizer files; LoRA: a PEFT adapter), "
                        + "metrics.jsonl, and trainer_state/ for --resume."})
final class SftCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    FineTuneOptions tune;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Training JSONL.")
    Path data;

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: --epochs over the data).")
    Long steps;

    @Option(names = "--epochs", paramLabel = "E", defaultValue = "1", description = "Passes over the data when --steps is not given (default ${DEFAULT-VALUE}).")
    double epochs;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "4", description = "Examples per micro-batch (default ${DEFAULT-VALUE}); with --packing pack, the budget in units of --max-len tokens.")
    int batch;

    @Option(names = "--grad-accum", paramLabel = "K", defaultValue = "1", description = "Micro-batches per optimizer step (default ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--max-len", paramLabel = "L", defaultValue = "1024", description = "Longest example in tokens (default ${DEFAULT-VALUE}); longer ones are truncated (see --reject-long).")
    int maxLen;

    @Option(names = "--packing", paramLabel = "MODE", defaultValue = "pad", description = "pad: --batch examples per micro-batch; pack: as many as fit in --batch x --max-len tokens. Never attention across examples (default ${DEFAULT-VALUE}).")
    String packing;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Evaluation JSONL (default: none, or --eval-fraction of --data).")
    Path evalData;

    @Option(names = "--eval-fraction", paramLabel = "F", defaultValue = "0", description = "Hold out this fraction of --data for evaluation (default ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(names = "--eval-every", paramLabel = "N", defaultValue = "0", description = "Evaluate every N steps and at the end (default: at the end only).")
    long evalEvery;

    @Option(names = "--strict", description = "A malformed data line is fatal before training (default: reported with its line number, "
            + "skipped, and the run, trained on the others, exits 2).")
    boolean strict;

    @Option(names = "--reject-long", description = "Skip examples longer than --max-len instead of truncating them.")
    boolean rejectLong;

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
        PrintWriter stdout = spec.commandLine().getOut();
        if (!Files.isRegularFile(data)) {
            throw new BadInputException("--data " + data + ": no such file");
        }
        tune.checkOut(common.model);
        if (evalData != null && evalFraction > 0) {
            throw new BadInputException("--eval-data and --eval-fraction are mutually exclusive");
        }
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new BadInputException("--eval-fraction must be in [0, 1), got " + evalFraction);
        }
        TrainOptions options = options();
        Tokenizer tokenizer = TokenizerFiles.load(common.model, "--model");
        Qwen3ChatTemplate template = TokenizerFiles.chatTemplate(tokenizer, common.model);
        SftDataOptions dataOptions = new SftDataOptions(maxLen,
                rejectLong ? SftDataOptions.OverLong.REJECT : SftDataOptions.OverLong.TRUNCATE, strict);
        SftDataset dataset = SftDataset.load(data, tokenizer, template, dataOptions);
        report(err, dataset.stats());
        List<SftExample> train = dataset.examples();
        List<SftExample> eval = List.of();
        SftDataStats evalStats = null;
        if (evalData != null) {
            SftDataset evalSet = SftDataset.load(evalData, tokenizer, template, dataOptions);
            evalStats = evalSet.stats();
            report(err, evalStats);
            eval = evalSet.examples();
        } else if (evalFraction > 0) {
            SftDataset.Split split = dataset.splitFraction(evalFraction, tune.seed);
            train = split.train();
            eval = split.eval();
        }
        if (train.isEmpty()) {
            throw new BadInputException("--data " + data + ": no usable training example");
        }
        ProgressLine progress = new ProgressLine(err);
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(StepMetrics m) {
                progress.show(String.format("%s step %d/%d  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s",
                        ProgressLine.bar((double) m.step() / m.totalSteps(), 24), m.step(), m.totalSteps(), m.loss(),
                        m.lr(), m.gradNorm(), m.tokensPerSecond()));
            }

            @Override
            public void onTransfers(long step, Transfers.Count moved) {
                if (common.verbose) {
                    progress.finish();
                    err.println(busLine(step, moved.uploadedBytes(), moved.downloadedBytes()));
                    err.flush();
                }
            }

            @Override
            public void onEval(long step, double evalLoss) {
                progress.finish();
                err.printf("step %d: eval loss %.4f%n", step, evalLoss);
                err.flush();
            }
        };
        SftTrainer.Result result;
        try (Backend backend = common.backend();
             Device device = common.computeDevice(backend);
             Qwen3Model base = common.loadModel()) {
            if (!(device instanceof HostDevice)) {
                err.println("train sft: on " + device.kind() + " (" + device.description() + ")");
                err.flush();
            }
            result = new SftTrainer(common.model, base, device, options, tune.out, listener).run(train, eval, tune.resume);
        } catch (TrainingDivergedException e) {
            progress.finish();
            err.println("reflectrm-j: training stopped: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        progress.finish();
        String summary = String.format("trained %d/%d steps (%s, %d examples), last loss %.4f%s; saved to %s",
                result.step(), result.totalSteps(), options.lora() == null ? "full" : "LoRA r=" + options.lora().rank(),
                train.size(), result.lastLoss(),
                Double.isNaN(result.evalLoss()) ? "" : String.format(", eval loss %.4f", result.evalLoss()), tune.out);
        err.println(summary);
        err.flush();
        if (json) {
            stdout.printf("{\"steps\": %d, \"total_steps\": %d, \"loss\": %s, \"eval_loss\": %s, \"out\": \"%s\"}%n",
                    result.step(), result.totalSteps(), result.lastLoss(),
                    Double.isNaN(result.evalLoss()) ? "null" : Double.toString(result.evalLoss()),
                    tune.out.toString().replace("\\", "\\\\").replace("\"", "\\\""));
            stdout.flush();
        }
        // Without --strict, malformed lines were skipped: the model is trained and saved on the others,
        // and the exit code says the data was not clean (over-long and no-loss examples are policy, not errors).
        int code = SkippedLines.exitCode(err, data.toString(), dataset.stats().malformed(), dataset.stats().linesRead(),
                "the model was trained on the others and saved");
        if (evalStats != null) {
            code = Math.max(code, SkippedLines.exitCode(err, evalData.toString(), evalStats.malformed(),
                    evalStats.linesRead(), "the model was evaluated on the others"));
        }
        return code;
    }

    private TrainOptions options() {
        SftBatcher.Mode mode = switch (packing) {
            case "pad" -> SftBatcher.Mode.PAD;
            case "pack" -> SftBatcher.Mode.PACK;
            default -> throw new BadInputException("--packing must be pad or pack, got " + packing);
        };
        return tune.trainOptions(steps == null ? 0 : steps, epochs, batch, gradAccum, maxLen, mode, evalEvery, 2e-5, 2e-4);
    }

    private static void report(PrintWriter err, SftDataStats stats) {
        err.println(stats.summary());
        err.flush();
    }

    /** The {@code --verbose} line of a GPU training step: what it moved across the bus. */
    static String busLine(long step, long up, long down) {
        return String.format("step %d: %d bytes up, %d bytes down across the bus", step, up, down);
    }
}
