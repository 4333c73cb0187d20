package org.reflectrm.model.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.data.MicroBatch;
import org.reflectrm.model.train.data.SftBatcher;
import org.reflectrm.model.train.data.SftExample;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.optim.GradClip;

/**
 * Supervised fine-tuning, fully or with LoRA. Each optimizer step accumulates the gradients of
 * {@code gradAccum} micro-batches, with the loss normalised by all target tokens of the step
 * (so the step's gradient is that of its mean token loss, however the tokens fall into
 * micro-batches), clips by global norm, and takes one optimizer step (AdamW unless told SGD) at the
 * scheduled learning rate.
 */
public final class SftTrainer {
    /** The outcome: steps done in total, the last step's loss, the last evaluation (NaN if none). */
    public record Result(long step, long totalSteps, double lastLoss, double evalLoss, boolean stoppedEarly) {
    }

    private final Path baseDir;
    private final Qwen3Model base;
    private final Device device;
    private final TrainOptions options;
    private final Path out;
    private final TrainingListener listener;

    /** Training on the CPU with {@code backend}. */
    public SftTrainer(Path baseDir, Qwen3Model base, Backend backend, TrainOptions options, Path out,
                      TrainingListener listener) {
        this(baseDir, base, new HostDevice(backend), options, out, listener);
    }

    /** Training on {@code device} (the caller's: it stays open), with the weights and optimizer there. */
    public SftTrainer(Path baseDir, Qwen3Model base, Device device, TrainOptions options, Path out,
                      TrainingListener listener) {
        this.baseDir = baseDir;
        this.base = base;
        this.device = device;
        this.options = options;
        this.out = out;
        this.listener = listener;
    }

    /** Trains on {@code train}, evaluating on {@code eval} (may be empty); continues a saved run when {@code resume}. */
    public Result run(List<SftExample> train, List<SftExample> eval, boolean resume) throws IOException {
        SftBatcher batcher = new SftBatcher(train, options.packing(), options.batch(), options.maxLen(), options.seed());
        MicroBatchStream stream = new MicroBatchStream(batcher);
        long totalSteps = options.steps() > 0 ? options.steps()
                : Math.max(1, (stream.batchesIn(options.epochs()) + options.gradAccum() - 1) / options.gradAccum());
        List<MicroBatch> evalBatches = eval.isEmpty() ? List.of()
                : new SftBatcher(eval, options.packing(), options.batch(), options.maxLen(), options.seed()).inOrder();

        try (TrainingSession session = new TrainingSession(baseDir, base, device, options, options.trajectoryJson(), out,
                listener)) {
            Qwen3Model model = session.model();
            long step = resume ? session.resume() : session.startFresh();
            stream.skip(step * options.gradAccum());
            var schedule = options.lrSchedule(totalSteps);
            double lastLoss = Double.NaN, evalLoss = Double.NaN;
            while (step < totalSteps) {
                long t0 = System.nanoTime();
                List<MicroBatch> batches = new ArrayList<>(options.gradAccum());
                long targets = 0, tokens = 0;
                for (int i = 0; i < options.gradAccum(); i++) {
                    MicroBatch mb = stream.next();
                    batches.add(mb);
                    targets += mb.targetTokens();
                    tokens += mb.tokenCount();
                }
                session.zeroGrad();
                double loss = 0;
                for (int i = 0; i < batches.size(); i++) {
                    if (session.lora() != null) {
                        session.lora().reseedDropout((options.seed() * 31 + step) * 1024 + i);
                    }
                    MicroBatch mb = batches.get(i);
                    loss += Backprop.lossAndGradients(model, session.scratch(), mb.sequences(), mb.predictMasks(), targets);
                }
                double lr = schedule.lr(step);
                GradClip.Result clip = session.update(step + 1, loss, lr);
                step++;
                lastLoss = loss;
                session.logStep(new TrainingListener.StepMetrics(step, totalSteps, stream.epochProgress(), loss, lr,
                        clip.totalNorm(), tokens, (System.nanoTime() - t0) / 1e9));
                boolean last = step == totalSteps;
                boolean stop = options.stopAfter() > 0 && step == options.stopAfter() && !last;
                if (!evalBatches.isEmpty() && (last || (options.evalEvery() > 0 && step % options.evalEvery() == 0))) {
                    evalLoss = evaluate(model, session.scratch(), evalBatches);
                    session.logEval(step, evalLoss);
                }
                if (last || stop || (options.saveEvery() > 0 && step % options.saveEvery() == 0)) {
                    session.save(step, totalSteps);
                }
                if (stop) {
                    return new Result(step, totalSteps, lastLoss, evalLoss, true);
                }
            }
            return new Result(step, totalSteps, lastLoss, evalLoss, false);
        }
    }

    /** The mean token loss over the evaluation batches. */
    private double evaluate(Qwen3Model model, Allocator scratch, List<MicroBatch> batches) {
        double sum = 0;
        long targets = 0;
        for (MicroBatch mb : batches) {
            sum += Backprop.loss(model, scratch, mb.sequences(), mb.predictMasks(), 1.0);
            targets += mb.targetTokens();
        }
        return sum / targets;
    }
}
