package org.reflectrm.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Mode;

/**
 * What every task needs to judge: where the model is, how to open it and how to judge. Spark ships
 * it to the executors with each task, so it is plain serializable data ({@link JudgeOptions} is
 * not serializable); an executor opens the model once per JVM ({@link Judges}).
 *
 * @param model           the model folder, a path every executor can read (see docs/spark.md)
 * @param device          cpu, opencl, cuda, cuda:N or auto
 * @param threads         compute threads per executor JVM, or null for all its cores
 * @param templateVersion the bundled judge template version
 * @param templateDir     own templates, or null
 * @param batchPairs      pairs judged together in one {@code judgeAll}
 * @param kvCache         what the KV caches hold: F32 or BF16 (CPU only)
 */
public record JudgeSpec(String model, String device, Integer threads, String templateVersion, String templateDir,
                        String mode, int rollouts, double temperature, double bottomFraction, long seed,
                        int maxNewTokens, boolean bothOrders, int batchPairs, String kvCache) implements Serializable {

    public JudgeSpec {
        if (batchPairs < 1) {
            throw new IllegalArgumentException("--batch-pairs must be at least 1, got " + batchPairs);
        }
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        }
        Mode.valueOf(mode); // a bad name fails here, on the driver, not in every task
        if (!kvCache.equals("F32") && !kvCache.equals("BF16")) {
            throw new IllegalArgumentException("--kv-cache must be f32 or bf16, got " + kvCache);
        }
    }

    /** The spec for {@code options} with the default device (cpu) and templates. */
    public static JudgeSpec of(String model, JudgeOptions options, int batchPairs, Integer threads) {
        return new JudgeSpec(model, "cpu", threads, org.reflectrm.model.judge.JudgeTemplate.DEFAULT_VERSION, null,
                options.mode().name(), options.rollouts(), options.temperature(), options.bottomFraction(),
                options.seed(), options.maxNewTokens(), options.bothOrders(), batchPairs, "F32");
    }

    /** The threads to compute with here: {@link #threads}, or every core of this JVM. */
    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /**
     * The options that decide what the records say, which a rerun into the same output folder must
     * keep: the model (as given), the templates and the judging options. Not the device, threads or
     * batch size, which change the records at most in their last bits.
     */
    ObjectNode judgingOptions(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("model", model);
        o.put("template_version", templateVersion);
        if (templateDir != null) {
            o.put("template_dir", templateDir);
        }
        o.put("mode", Mode.valueOf(mode).label());
        o.put("rollouts", rollouts);
        o.put("temperature", temperature);
        o.put("bottom_frac", bottomFraction);
        o.put("seed", seed);
        o.put("max_new_tokens", maxNewTokens);
        o.put("both_orders", bothOrders);
        if (!kvCache.equals("F32")) {
            o.put("kv_cache", kvCache);   // absent for F32, so runs from before the option resume
        }
        return o;
    }

    public JudgeOptions options() {
        return new JudgeOptions(Mode.valueOf(mode), rollouts, temperature, bottomFraction, seed, maxNewTokens, bothOrders);
    }
}
