package org.reflectrm.cli;

import org.reflectrm.model.ModelRuntime;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Allocations;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.Qwen3Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code reflectrm-j bench}: prefill and decode throughput on a model folder, plus the machine's
 * memory read bandwidth, so decode speed can be stated as a fraction of its bandwidth limit.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prefill and decode tokens/s (medians of --repeats runs) and memory read bandwidth.",
                "Prompts are random token ids; decoding is greedy and ignores EOS."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    KvCacheOption kvCache;

    @Option(names = "--prompt-len", paramLabel = "N", defaultValue = "512", description = "Prefill prompt length (default ${DEFAULT-VALUE}).")
    int promptLen;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32", description = "Decode steps per run (default ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--decode-prompt-len", paramLabel = "N", defaultValue = "16", description = "Prompt length before decoding (default ${DEFAULT-VALUE}).")
    int decodePromptLen;

    @Option(names = "--batch", paramLabel = "B", split = ",", defaultValue = "1,8", description = "Decode batch sizes (default ${DEFAULT-VALUE}).")
    int[] batches;

    @Option(names = "--repeats", paramLabel = "R", defaultValue = "3", description = "Runs per measurement (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (promptLen < 1 || decodeTokens < 1 || decodePromptLen < 1 || repeats < 1) {
            throw new BadInputException("--prompt-len, --decode-tokens, --decode-prompt-len and --repeats must be >= 1");
        }
        for (int b : batches) {
            if (b < 1) {
                throw new BadInputException("--batch: batch sizes must be >= 1, got " + b);
            }
        }
        PrintWriter err = spec.commandLine().getErr();
        try (ModelRuntime runtime = common.openRuntime(kvCache, spec.commandLine().getErr())) {
            Qwen3Model model = runtime.model();
            Backend backend = runtime.backend();
            MemoryUse afterLoad = MemoryUse.now();
            // Everything the device received so far is the model's load: its weights.
            long loadBytesUp = runtime.transfers() == null ? 0 : runtime.transfers().uploadedBytes();
            Generator generator = new Generator(runtime.languageModel());
            SplittableRandom random = new SplittableRandom(42);
            int vocab = model.config().vocabSize();

            err.println("bench: warming up");
            run(generator, prompts(random, vocab, 1, 32), 8);

            double[] prefill = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                Generator.Timing t = run(generator, prompts(random, vocab, 1, promptLen), 1);
                prefill[r] = t.prefillTokens() / (t.prefillNanos() / 1e9);
                err.printf("bench: prefill %d tokens: %.1f tokens/s%n", promptLen, prefill[r]);
            }
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("model", common.model.toString());
            o.put("device", runtime.deviceName());
            o.put("threads", backend.threads());
            o.put("prompt_len", promptLen);
            o.put("prefill_tokens_per_s", median(prefill));
            ObjectNode decode = o.putObject("decode_tokens_per_s");
            // On a device: the most memory held while each batch size ran (weights, caches, scratch).
            Allocations allocations = runtime.allocations();
            ObjectNode peaks = allocations == null ? null : o.putObject("device_peak_bytes");
            for (int b : batches) {
                if (allocations != null) {
                    allocations.resetPeak();
                }
                double[] speeds = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    Generator.Timing t = run(generator, prompts(random, vocab, b, decodePromptLen), decodeTokens + 1);
                    speeds[r] = t.decodeTokens() / (t.decodeNanos() / 1e9);
                    err.printf("bench: decode batch %d: %.2f tokens/s%s%n", b, speeds[r], t.passes() == 1 ? ""
                            : " (it does not fit the device's memory at once: " + t.passes() + " passes)");
                    if (t.passes() > 1) {
                        (o.has("decode_passes") ? (ObjectNode) o.get("decode_passes") : o.putObject("decode_passes"))
                                .put(Integer.toString(b), t.passes());
                    }
                }
                decode.put(Integer.toString(b), median(speeds));
                if (peaks != null) {
                    peaks.put(Integer.toString(b), allocations.peak());
                }
            }
            double bandwidth = runtime.onGpu() ? runtime.deviceBandwidth()
                    : ReadBandwidth.measure(backend.threads());
            long bytesPerToken = model.weights().decodeBytesPerToken();
            double limit = bandwidth / bytesPerToken;
            o.put("read_bandwidth_gb_per_s", bandwidth / 1e9);
            o.put("decode_bytes_per_token", bytesPerToken);
            o.put("decode_bandwidth_limit_tokens_per_s", limit);
            if (decode.has("1")) {
                o.put("decode_batch1_fraction_of_limit", decode.get("1").asDouble() / limit);
            }
            if (runtime.onGpu()) {
                o.put("decode_steps_replayed", runtime.replayedSteps());
                transfers(runtime, loadBytesUp, generator, random, vocab, o, err);
            }
            MemoryUse afterRuns = MemoryUse.now();
            o.put("rss_after_load_bytes", afterLoad.rssBytes());
            o.put("heap_used_after_load_bytes", afterLoad.heapUsedBytes());
            o.put("rss_after_runs_bytes", afterRuns.rssBytes());
            o.put("heap_used_after_runs_bytes", afterRuns.heapUsedBytes());
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(mapper.writeValueAsString(o));
            } else {
                out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
            }
            out.flush();
        }
        return 0;
    }

    /**
     * What crosses the bus: the weights' upload (everything moved before the first run) and a
     * batch-1 decode step's traffic, the difference between a run of {@code decodeTokens} steps
     * and a prefill-only run of the same prompt, per step.
     */
    private void transfers(ModelRuntime runtime, long loadBytesUp, Generator generator, SplittableRandom random,
                           int vocab, ObjectNode o, PrintWriter err) {
        Transfers.Count before = runtime.transfers();
        run(generator, prompts(random, vocab, 1, decodePromptLen), 1);
        Transfers.Count prefillOnly = runtime.transfers().since(before);
        before = runtime.transfers();
        run(generator, prompts(random, vocab, 1, decodePromptLen), decodeTokens + 1);
        Transfers.Count steps = runtime.transfers().since(before);
        double up = (steps.uploadedBytes() - prefillOnly.uploadedBytes()) / (double) decodeTokens;
        double down = (steps.downloadedBytes() - prefillOnly.downloadedBytes()) / (double) decodeTokens;
        o.put("device_load_bytes_up", loadBytesUp);
        o.put("decode_step_bytes_up", up);
        o.put("decode_step_bytes_down", down);
        err.printf("bench: bus traffic: %.1f MiB up while loading; a decode step moves %.0f bytes up and %.1f KiB down%n",
                loadBytesUp / (double) (1 << 20), up, down / 1024);
    }

    private Generator.Timing run(Generator generator, List<int[]> prompts, int newTokens) {
        generator.generate(prompts, new GenerationConfig(newTokens, SamplingParams.GREEDY, 0, Set.of()));
        return generator.lastTiming();
    }

    private static List<int[]> prompts(SplittableRandom random, int vocab, int batch, int length) {
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            out.add(random.ints(length, 0, vocab).toArray());
        }
        return out;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
