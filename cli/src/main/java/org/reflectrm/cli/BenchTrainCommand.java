package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.Backprop;
import org.reflectrm.model.train.LoraAdapter;
import org.reflectrm.model.train.LoraConfig;
import org.reflectrm.model.train.ParameterSet;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.optim.AdamW;
import org.reflectrm.tensor.optim.OptimParam;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j bench-train}: training throughput (forward, backward and an AdamW step) on
 * random token ids, full or LoRA, the same work bench/peer_train.py times in PyTorch.
 */
@Command(name = "bench-train", mixinStandardHelpOptions = true,
        description = "Measure training tokens/s (forward + backward + AdamW) on random tokens, on the CPU or, "
                + "with --device, on a GPU: median step time after warm-up steps, and the peak resident memory.")
final class BenchTrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq-len", paramLabel = "T", defaultValue = "256", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "5", description = "Timed steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2", description = "Untimed steps first (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--lora-rank", paramLabel = "R", description = "LoRA of this rank on all linear layers (alpha 2R) instead of full training.")
    Integer loraRank;

    @Option(names = "--gradient-checkpointing", description = "Recompute each layer in backward instead of keeping its activations.")
    boolean gradientCheckpointing;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || seqLen < 2 || steps < 1 || warmup < 0) {
            throw new BadInputException("--batch >= 1, --seq-len >= 2, --steps >= 1 and --warmup >= 0 are required");
        }
        PrintWriter err = spec.commandLine().getErr();
        try (TrainableModel t = new TrainableModel(common)) {
            Qwen3Model base = t.base;
            Device device = t.device;
            ParameterSet params = t.params;
            Allocator scratch = t.scratch;
            Qwen3Model model = loraRank == null ? t.full() : t.withLora((config, ps) ->
                    LoraAdapter.create(config, LoraConfig.of(loraRank, 2.0 * loraRank), ps, 0));
            model = model.withActivationCheckpointing(gradientCheckpointing);
            List<OptimParam> optimParams = params.optimParams();
            SplittableRandom random = new SplittableRandom(7);
            List<int[]> seqs = new ArrayList<>();
            List<boolean[]> masks = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                seqs.add(random.ints(seqLen, 0, base.config().vocabSize()).toArray());
                boolean[] m = new boolean[seqLen - 1];
                Arrays.fill(m, true);
                masks.add(m);
            }
            double[] seconds = new double[steps];
            double firstLoss = 0, lastLoss = 0;
            try (AdamW adam = new AdamW(device, optimParams, AdamW.Config.defaults())) {
                for (int s = 0; s < warmup + steps; s++) {
                    long t0 = System.nanoTime();
                    adam.zeroGrad();
                    double loss = Backprop.lossAndGradients(model, scratch, seqs, masks, Backprop.countTargets(masks));
                    adam.step(1e-4);
                    device.synchronize();   // a GPU queues the update: the step ends when it has run
                    double dt = (System.nanoTime() - t0) / 1e9;
                    if (s == 0) {
                        firstLoss = loss;
                    }
                    lastLoss = loss;
                    if (s >= warmup) {
                        seconds[s - warmup] = dt;
                    }
                    err.printf("bench-train: step %d: %.3f s, loss %.4f%n", s + 1, dt, loss);
                    err.flush();
                }
            }
            double median = BenchCommand.median(seconds);
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("model", common.model.toString());
            o.put("mode", loraRank == null ? "full" : "lora-r" + loraRank);
            o.put("gradient_checkpointing", gradientCheckpointing);
            o.put("device", device.kind());
            o.put("threads", t.backend.threads());
            o.put("batch", batch);
            o.put("seq_len", seqLen);
            o.put("trainable_params", params.count());
            o.put("median_step_s", median);
            o.put("tokens_per_s", batch * (double) seqLen / median);
            o.put("first_loss", firstLoss);
            o.put("last_loss", lastLoss);
            o.put("peak_rss_bytes", MemoryUse.peakRssBytes());
            o.put("scratch_bytes", scratch.bytes());
            if (!(device instanceof org.reflectrm.kernels.device.HostDevice)) {
                // Weights, parameters, gradients, moments and the activations' peak: torch's max_memory_allocated.
                o.put("device_peak_bytes", device.allocations().peak());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? mapper.writeValueAsString(o) : mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
            out.flush();
        }
        return 0;
    }
}
