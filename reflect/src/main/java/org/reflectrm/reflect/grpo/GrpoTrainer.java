package org.reflectrm.reflect.grpo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.Qwen3LanguageModel;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.ModelTextGenerator;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.model.train.MetricsLog;
import org.reflectrm.model.train.TrainOptions;
import org.reflectrm.model.train.TrainingListener;
import org.reflectrm.model.train.TrainingSession;
import org.reflectrm.model.train.data.Shuffle;
import org.reflectrm.tensor.optim.GradClip;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * GRPO with the verdict reward, ReflectRM's unified training: each generation batch draws
 * prompts (Pref and Refl mixed as the data file has them), samples a group of judgments for
 * each on the batched, prefix-sharing generator, rewards a judgment 1 when its parsed verdict
 * names the better candidate, and takes {@code numIterations} optimizer steps on the
 * group-relative advantages with {@link GrpoLoss}. The reference policy of the KL term is the
 * starting model (for LoRA: the base without the adapter).
 *
 * <p>Everything random is a function of the seed and the generation index, and checkpoints fall
 * between generation batches, so a resumed run is bit-identical to an uninterrupted one.
 */
public final class GrpoTrainer {
    /** The file in the output folder that names the judge template the model was trained with. */
    public static final String MARKER = "reflectrm.json";

    /** Hears each step's metrics line (the CLI's progress display). */
    public interface Listener extends TrainingListener {
        default void onGrpoStep(ObjectNode metrics) {
        }
    }

    /** The outcome: steps done, of how many, the last generation's mean reward, and whether it stopped early. */
    public record Result(long step, long totalSteps, double rewardMean, boolean stoppedEarly) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path baseDir;
    private final Qwen3Model base;
    private final Device device;
    private final Tokenizer tokenizer;
    private final Qwen3ChatTemplate chat;
    private final TrainOptions train;
    private final GrpoOptions options;
    private final GrpoLoss loss;
    private final Path out;
    private final Listener listener;

    /** A trainer on the host, computing with {@code backend}. */
    public GrpoTrainer(Path baseDir, Qwen3Model base, Backend backend, Tokenizer tokenizer, Qwen3ChatTemplate chat,
                       TrainOptions train, GrpoOptions options, Path out, Listener listener) {
        this(baseDir, base, new HostDevice(backend), tokenizer, chat, train, options, out, listener);
    }

    /**
     * A trainer on {@code device}: the rollouts, the reference and old log-probabilities, and the
     * update all run there, on the one model definition. The device stays the caller's.
     */
    public GrpoTrainer(Path baseDir, Qwen3Model base, Device device, Tokenizer tokenizer, Qwen3ChatTemplate chat,
                       TrainOptions train, GrpoOptions options, Path out, Listener listener) {
        this.baseDir = baseDir;
        this.base = base;
        this.device = device;
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.train = train;
        this.options = options;
        this.loss = new GrpoLoss(options.loss());
        this.out = out;
        this.listener = listener;
    }

    /** Optimizer steps a run over {@code prompts} prompts takes. */
    public long totalSteps(int prompts) {
        long generations = options.generations() > 0 ? options.generations()
                : Math.max(1, (long) Math.ceil(options.epochs() * prompts / options.promptsPerStep()));
        return generations * options.numIterations();
    }

    public Result run(List<GrpoPrompt> data, boolean resume) throws IOException {
        List<int[]> promptIds = new ArrayList<>(data.size());
        for (GrpoPrompt p : data) {
            promptIds.add(JudgePrompts.encodeChat(tokenizer, chat, p.prompt()));
        }
        long totalSteps = totalSteps(data.size());
        MetricsLog rolloutLog = options.logRollouts() == null ? null : new MetricsLog(options.logRollouts());
        try (TrainingSession session = new TrainingSession(baseDir, base, device, train, trajectory(), out, listener)) {
            long step = resume ? session.resume() : session.startFresh();
            // The rollout log may be a file of the user's outside --out: only a resume trims it.
            if (resume && rolloutLog != null) {
                rolloutLog.truncateAfter(step);
            }
            var schedule = train.lrSchedule(totalSteps);
            Generation generation = null;
            double rewardMean = Double.NaN;
            while (step < totalSteps) {
                int iteration = (int) (step % options.numIterations());
                if (iteration == 0) {
                    generation = generate(session, data, promptIds, step / options.numIterations());
                    rewardMean = generation.rewardMean();
                }
                long t0 = System.nanoTime();
                session.zeroGrad();
                double[] weights = loss.tokenWeights(generation.samples());
                double stepLoss = 0, klSum = 0;
                long tokens = 0, clipped = 0, trainTokens = 0;
                double[][] logprobs = new double[generation.samples().size()][];
                for (int from = 0, mb = 0; from < weights.length; from += options.microBatch(), mb++) {
                    int to = Math.min(weights.length, from + options.microBatch());
                    if (session.lora() != null) {
                        session.lora().reseedDropout((train.seed() * 31 + step) * 1024 + mb);
                    }
                    List<GrpoLoss.Sample> micro = generation.samples().subList(from, to);
                    GrpoLoss.Stats stats = loss.lossAndGradients(session.model(), session.scratch(), micro,
                            java.util.Arrays.copyOfRange(weights, from, to));
                    stepLoss += stats.loss();
                    klSum += stats.klSum();
                    tokens += stats.tokens();
                    clipped += stats.clippedLow() + stats.clippedHigh();
                    System.arraycopy(stats.logprobs(), 0, logprobs, from, to - from);
                    for (GrpoLoss.Sample s : micro) {
                        trainTokens += s.prompt().length + s.completion().length;
                    }
                }
                double lr = schedule.lr(step);
                GradClip.Result clip = session.update(step + 1, stepLoss, lr);
                step++;
                double trainSeconds = (System.nanoTime() - t0) / 1e9;
                if (rolloutLog != null && iteration == 0) {
                    logRollouts(rolloutLog, step, generation, logprobs);
                }
                ObjectNode line = generation.metrics(step);
                line.put("loss", stepLoss);
                line.put("grad_norm", clip.totalNorm());
                line.put("lr", lr);
                if (options.loss().beta() != 0) {
                    line.put("kl", tokens == 0 ? 0 : klSum / tokens);
                } else {
                    line.putNull("kl");
                }
                line.put("clip_fraction", tokens == 0 ? 0 : (double) clipped / tokens);
                line.put("train_s", trainSeconds);
                line.put("train_tokens_per_s", trainTokens / trainSeconds);
                line.put("total_steps", totalSteps);
                MetricsLog.putTransfers(line, session.stepTransfers());
                session.log(line);
                listener.onGrpoStep(line);
                boolean last = step == totalSteps;
                boolean stop = options.stopAfter() > 0 && step == options.stopAfter() && !last;
                if (last || stop || (options.saveEvery() > 0 && step % options.saveEvery() == 0)) {
                    session.save(step, totalSteps);
                    writeMarker(data.getFirst().templateVersion());
                }
                if (stop) {
                    return new Result(step, totalSteps, rewardMean, true);
                }
            }
            return new Result(step, totalSteps, rewardMean, false);
        }
    }

    /** What a resumed run must share with this one: the optimizer's settings (not SFT's batching) and GRPO's. */
    ObjectNode trajectory() {
        ObjectNode trajectory = train.trajectoryJson();
        for (String sftOnly : List.of("steps", "epochs", "batch", "grad_accum", "max_len", "packing")) {
            trajectory.remove(sftOnly);
        }
        trajectory.setAll(options.trajectoryJson());
        return trajectory;
    }

    /** One generation batch: its prompts, rollouts, rewards and the loss's samples, with its metrics. */
    private record Generation(int[] promptIndex, List<GrpoPrompt> prompts, List<Generator.Result> rollouts,
                              double[] rewards, boolean[] parsed, double[] advantages, List<GrpoLoss.Sample> samples,
                              int group, double seconds) {
        double rewardMean() {
            return mean(rewards, null, null);
        }

        ObjectNode metrics(long step) {
            ObjectNode o = JSON.createObjectNode();
            o.put("step", step);
            o.put("reward_mean", rewardMean());
            putMean(o, "reward_mean_pref", mean(rewards, prompts, "pref"));
            putMean(o, "reward_mean_refl", mean(rewards, prompts, "refl"));
            int ok = 0;
            long tokens = 0;
            for (int i = 0; i < rollouts.size(); i++) {
                ok += parsed[i] ? 1 : 0;
                tokens += rollouts.get(i).tokens().length;
            }
            int zeroStd = 0;
            for (int g = 0; g < rewards.length; g += group) {
                zeroStd += Advantages.flat(rewards, g, group) ? 1 : 0;
            }
            o.put("parse_rate", (double) ok / rollouts.size());
            o.put("completion_len_mean", (double) tokens / rollouts.size());
            o.put("zero_std_groups", zeroStd);
            o.put("gen_s", seconds);
            o.put("gen_tokens_per_s", tokens / seconds);
            return o;
        }

        /** The mean reward of the rollouts whose prompt has {@code task} (all when null); NaN when there are none. */
        private double mean(double[] r, List<GrpoPrompt> byPrompt, String task) {
            double sum = 0;
            int n = 0;
            for (int i = 0; i < r.length; i++) {
                if (task == null || byPrompt.get(i / group).task().equals(task)) {
                    sum += r[i];
                    n++;
                }
            }
            return n == 0 ? Double.NaN : sum / n;
        }

        private static void putMean(ObjectNode o, String field, double v) {
            if (Double.isNaN(v)) {
                o.putNull(field);
            } else {
                o.put(field, v);
            }
        }
    }

    /** Samples generation batch {@code g} from the current policy and scores it. */
    private Generation generate(TrainingSession session, List<GrpoPrompt> data, List<int[]> promptIds, long g) {
        int group = options.group();
        int[] index = promptIndices(data.size(), g);
        List<List<int[]>> groups = new ArrayList<>();
        List<GrpoPrompt> prompts = new ArrayList<>();
        for (int i : index) {
            groups.add(Collections.nCopies(group, promptIds.get(i)));
            prompts.add(data.get(i));
        }
        long t0 = System.nanoTime();
        Generator generator = new Generator(new Qwen3LanguageModel(session.model(), session.device()));
        // Each prompt's group samples from streams of its own: prompts of a batch share no random numbers.
        long batchSeed = Shuffle.derive(train.seed(), g);
        long[] seeds = new long[index.length];
        for (int k = 0; k < seeds.length; k++) {
            seeds[k] = Shuffle.derive(batchSeed, k);
        }
        GenerationConfig config = new GenerationConfig(options.maxNewTokens(),
                new SamplingParams(false, options.loss().temperature(), 0, 1.0, 0.0), batchSeed,
                ModelTextGenerator.stopTokens(base.config(), tokenizer));
        List<Generator.Result> rollouts = generator.generateGroups(groups, seeds, config, null);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double[] rewards = new double[rollouts.size()];
        boolean[] parsed = new boolean[rollouts.size()];
        for (int i = 0; i < rollouts.size(); i++) {
            GrpoPrompt p = prompts.get(i / group);
            var verdict = p.verdict(ModelTextGenerator.text(tokenizer, rollouts.get(i).tokens()));
            parsed[i] = verdict.parsed();
            rewards[i] = parsed[i] ? p.reward(verdict) : (options.formatPenalty() == 0 ? 0 : -options.formatPenalty());
        }
        double[] advantages = Advantages.of(rewards, group, options.scale());
        List<GrpoLoss.Sample> samples = new ArrayList<>();
        for (int i = 0; i < rollouts.size(); i++) {
            samples.add(new GrpoLoss.Sample(promptIds.get(index[i / group]), rollouts.get(i).tokens(), advantages[i],
                    null, null));
        }
        double[][] old = options.numIterations() > 1 ? logprobs(session.model(), session, samples) : null;
        double[][] ref = options.loss().beta() != 0 ? logprobs(session.reference(), session, samples) : null;
        if (old != null || ref != null) {
            for (int i = 0; i < samples.size(); i++) {
                GrpoLoss.Sample s = samples.get(i);
                samples.set(i, new GrpoLoss.Sample(s.prompt(), s.completion(), s.advantage(),
                        old == null ? null : old[i], ref == null ? null : ref[i]));
            }
        }
        return new Generation(index, prompts, rollouts, rewards, parsed, advantages, samples, group, seconds);
    }

    /** Log-probabilities of every sample's completion under {@code model}, a micro-batch at a time. */
    private double[][] logprobs(Qwen3Model model, TrainingSession session, List<GrpoLoss.Sample> samples) {
        double[][] out = new double[samples.size()][];
        for (int from = 0; from < samples.size(); from += options.microBatch()) {
            int to = Math.min(samples.size(), from + options.microBatch());
            double[][] part = loss.logprobs(model, session.scratch(), samples.subList(from, to));
            System.arraycopy(part, 0, out, from, to - from);
        }
        return out;
    }

    /**
     * The data rows of generation batch {@code g}: consecutive stretches of an endless sequence
     * of passes over the data, each pass in its own seeded order.
     */
    int[] promptIndices(int n, long g) {
        int b = options.promptsPerStep();
        int[] out = new int[b];
        int[] perm = null;
        long pass = -1;
        for (int i = 0; i < b; i++) {
            long position = g * b + i;
            if (position / n != pass) {
                pass = position / n;
                perm = Shuffle.permutation(n, Shuffle.derive(train.seed() ^ 0x6772706fL, pass));
            }
            out[i] = perm[(int) (position % n)];
        }
        return out;
    }

    private void logRollouts(MetricsLog log, long step, Generation generation, double[][] logprobs) throws IOException {
        for (int i = 0; i < generation.samples().size(); i++) {
            GrpoLoss.Sample s = generation.samples().get(i);
            ObjectNode o = JSON.createObjectNode();
            o.put("step", step);
            o.put("prompt_index", generation.promptIndex()[i / generation.group()]);
            ArrayNode p = o.putArray("prompt_ids");
            for (int t : s.prompt()) {
                p.add(t);
            }
            ArrayNode c = o.putArray("completion_ids");
            for (int t : s.completion()) {
                c.add(t);
            }
            o.put("reward", generation.rewards()[i]);
            o.put("advantage", s.advantage());
            ArrayNode lp = o.putArray("old_logprobs");
            for (double v : s.oldLogprobs() != null ? s.oldLogprobs() : logprobs[i]) {
                lp.add(v);
            }
            log.append(o);
        }
    }

    /** The judge template version a checkpoint was trained with, if it was trained by {@code train grpo}. */
    public static java.util.Optional<String> templateVersionOf(Path modelDir) {
        Path marker = modelDir.resolve(MARKER);
        if (!java.nio.file.Files.isRegularFile(marker)) {
            return java.util.Optional.empty();
        }
        try {
            String v = JSON.readTree(marker.toFile()).path("template_version").asText("");
            return v.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(v);
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    /** Names the judge template the checkpoint was trained with; {@code judge} warns when it is judged with another. */
    private void writeMarker(String templateVersion) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("method", "grpo");
        o.put("template_version", templateVersion);
        AtomicFiles.write(out.resolve(MARKER),
                (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
