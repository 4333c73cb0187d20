package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.optim.GradClip;
import org.reflectrm.tensor.optim.OptimParam;
import org.reflectrm.tensor.optim.Optimizer;

/**
 * What every fine-tuning method (SFT, GRPO) shares: the trainable model (full or LoRA), the
 * optimizer, the clipped update that refuses a non-finite loss or gradient, {@code
 * metrics.jsonl}, and the atomic checkpoints a resumed run continues from bit for bit. The
 * method decides only what the loss is and which data each step sees.
 *
 * <p>Everything a step touches lives on one {@link Device}: the parameters, their gradients, the
 * optimizer's moments, the activations and (for LoRA) the frozen base. A step uploads token ids
 * and downloads losses and a few sums for the gradient norm; only checkpoints move weights
 * (one download per save, one upload per resume), in files that are the same on every device.
 */
public final class TrainingSession implements AutoCloseable {
    private final Path baseDir;
    private final Device device;
    private final TrainOptions options;
    private final ObjectNode trajectory;
    private final Path out;
    private final TrainingListener listener;
    private final ParameterSet params;
    private final DeviceTensors frozen;
    private final Allocator scratch;
    private final LoraAdapter lora;
    private final Qwen3Model model;
    private final Qwen3Model base;
    /** The frozen starting model on the device, made on first use (see {@link #reference}). */
    private Qwen3Model reference;
    private final List<OptimParam> optimParams;
    private final Optimizer optimizer;
    private final MetricsLog metrics;
    /** The device's transfer count at the last step, or null on the host. */
    private Transfers.Count countedTransfers;

    /** A session on the host, computing with {@code backend}. */
    public TrainingSession(Path baseDir, Qwen3Model base, Backend backend, TrainOptions options, ObjectNode trajectory,
                           Path out, TrainingListener listener) {
        this(baseDir, base, new HostDevice(backend), options, trajectory, out, listener);
    }

    /**
     * Makes {@code base} trainable on {@code device} as {@code options} say. {@code trajectory} is
     * everything that shapes the run (a resumed run must match it):
     * {@link TrainOptions#trajectoryJson()} and the method's own settings. The device stays the
     * caller's.
     */
    public TrainingSession(Path baseDir, Qwen3Model base, Device device, TrainOptions options, ObjectNode trajectory,
                           Path out, TrainingListener listener) {
        if (options.lora() != null && base.weights().quantized()) {
            // The backward through a frozen base multiplies by W in layouts that cut 8-bit blocks.
            throw new org.reflectrm.model.BadInputException(baseDir + " has 8-bit weights (reflectrm-j quantize): "
                    + "LoRA training needs gradients through them, which are not supported; "
                    + "train on the model before quantizing (full fine-tuning widens the 8-bit weights to F32)");
        }
        if (!(device instanceof HostDevice) && base.weights().quantized()) {
            throw new org.reflectrm.model.BadInputException(baseDir + " has 8-bit weights (reflectrm-j quantize), which "
                    + "the GPU backends do not read; train on the CPU, or on the model before quantizing");
        }
        this.baseDir = baseDir;
        this.device = device;
        this.options = options;
        this.trajectory = trajectory;
        this.out = out;
        this.listener = listener;
        this.params = new ParameterSet(device);
        this.frozen = new DeviceTensors(device);
        this.scratch = Allocator.scratch(device, 64L << 20);
        this.base = base;
        if (options.lora() == null) {
            this.lora = null;
            this.model = FullFineTune.of(base, params).withActivationCheckpointing(options.checkpointLayers());
        } else {
            // The frozen weights go to the device once (on the host they stay mapped, uncopied).
            Qwen3Model onDevice = base.on(frozen);
            this.reference = onDevice;
            this.lora = LoraAdapter.create(base.config(), options.lora(), params, options.seed());
            this.model = onDevice.with(onDevice.weights(), lora).withActivationCheckpointing(options.checkpointLayers());
        }
        this.optimParams = params.optimParams();
        this.optimizer = options.newOptimizer(device, optimParams);
        this.metrics = new MetricsLog(out.resolve("metrics.jsonl"));
        this.countedTransfers = device instanceof HostDevice ? null : device.transfers();
    }

    /**
     * What crossed the bus since the last call (or since the weights were uploaded), or null on
     * the host: a training step should move only its token ids, targets, losses and clipping's
     * block sums, never weights. Steps report it in {@code metrics.jsonl} and to the listener.
     */
    public Transfers.Count stepTransfers() {
        if (countedTransfers == null) {
            return null;
        }
        Transfers.Count now = device.transfers();
        Transfers.Count moved = now.since(countedTransfers);
        countedTransfers = now;
        return moved;
    }

    /** The model being trained: its trainable tensors are this session's parameters. */
    public Qwen3Model model() {
        return model;
    }

    /**
     * The model training started from, frozen, on the session's device (GRPO's reference for its
     * KL term). For LoRA it is the device's frozen base without the adapter, shared with
     * {@link #model()}; for full fine-tuning the base's weights, uploaded on first use (a second
     * copy on a GPU; on the host they stay mapped, uncopied).
     */
    public Qwen3Model reference() {
        if (reference == null) {
            reference = base.on(frozen);
        }
        return reference;
    }

    /** The LoRA adapter being trained, or null for full fine-tuning. */
    public LoraAdapter lora() {
        return lora;
    }

    /** Memory for the activations, on the session's device. */
    public Allocator scratch() {
        return scratch;
    }

    /** Where the session computes and keeps its tensors. */
    public Device device() {
        return device;
    }

    public TrainOptions options() {
        return options;
    }

    public TrainingListener listener() {
        return listener;
    }

    /**
     * Starts a new run in the output folder: a metrics.jsonl left there by a run killed before
     * its first checkpoint is cleared, so the new run's curve is not appended to the old one's.
     * Returns step 0.
     */
    public long startFresh() throws IOException {
        metrics.truncateAfter(0);
        return 0;
    }

    /** Restores the run saved in the output folder when there is one; returns its completed step (0 if none). */
    public long resume() throws IOException {
        if (!TrainerState.exists(out)) {
            return 0;
        }
        long step = TrainerState.load(out, trajectory, params, optimizer);
        metrics.truncateAfter(step);
        return step;
    }

    /** Clears the gradients before a step's backward passes. */
    public void zeroGrad() {
        optimizer.zeroGrad();
    }

    /**
     * Clips the accumulated gradients and takes one optimizer step at {@code lr}, unless the loss
     * or the gradient norm is not finite: then nothing changes and training stops with the last
     * checkpoint kept. Returns the clipping's result (the norm is the one before clipping).
     */
    public GradClip.Result update(long step, double loss, double lr) {
        GradClip.Result clip = options.maxGradNorm() > 0
                ? GradClip.clipByGlobalNorm(device, optimParams, options.maxGradNorm())
                : new GradClip.Result(GradClip.globalNorm(device, optimParams), 1.0);
        if (!Double.isFinite(loss) || !clip.finite()) {
            throw new TrainingDivergedException("step " + step + ": the " + (Double.isFinite(loss) ? "gradient norm" : "loss")
                    + " is " + (Double.isFinite(loss) ? clip.totalNorm() : loss) + "; training stopped, "
                    + (TrainerState.exists(out) ? "the last checkpoint in " + out + " is kept" : "nothing was saved"));
        }
        optimizer.step(lr);
        return clip;
    }

    /** Appends one line to {@code metrics.jsonl}. */
    public void log(ObjectNode line) throws IOException {
        metrics.append(line);
    }

    /** Appends the standard line of a step to {@code metrics.jsonl} and tells the listener. */
    public void logStep(TrainingListener.StepMetrics m) throws IOException {
        Transfers.Count moved = stepTransfers();
        metrics.step(m, moved);
        listener.onStep(m);
        if (moved != null) {
            listener.onTransfers(m.step(), moved);
        }
    }

    /** Appends an evaluation's line and tells the listener. */
    public void logEval(long step, double loss) throws IOException {
        metrics.eval(step, loss);
        listener.onEval(step, loss);
    }

    /** Writes the model (an adapter for LoRA) and the state a resumed run needs, atomically. */
    public void save(long step, long totalSteps) throws IOException {
        if (lora != null) {
            PeftAdapterFiles.write(out, lora, baseDir.toString());
            ModelFiles.copyCompanions(baseDir, out);
        } else {
            // F32 by default: the master weights as trained. Rounding to a BF16 base's dtype would
            // undo updates smaller than BF16's resolution, which at fine-tuning rates are most.
            DType dtype = options.saveDtype() != null ? options.saveDtype() : DType.F32;
            ModelFiles.save(out, baseDir, params.all(), dtype);
        }
        TrainerState.save(out, step, totalSteps, trajectory, params, optimizer);
        listener.onSave(step, out);
    }

    @Override
    public void close() {
        try (params; frozen; scratch) {
            optimizer.close();
        }
    }
}
