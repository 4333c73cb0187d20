package org.reflectrm.api;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.ModelRuntime;
import org.reflectrm.model.TokenizerFiles;
import org.reflectrm.model.judge.ItemSeeds;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.ModelTextGenerator;
import org.reflectrm.reflect.eval.report.JudgmentPage;
import org.reflectrm.reflect.grpo.GrpoTrainer;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * A generative reward model, opened from a Hugging Face Qwen3 folder, that judges which of two
 * responses is better: the Java API of {@code reflectrm-j judge}, which the command line itself
 * judges through.
 *
 * <pre>{@code
 * try (ReflectRM rm = ReflectRM.builder(Path.of("models/my-judge")).device("auto").open()) {
 *     Judgment j = rm.judge(Pair.of("What is 7+5?", "12", "13"), JudgeOptions.defaults());
 *     System.out.println(j.verdict() + " " + j.status());
 * }
 * }</pre>
 *
 * <p>Thread safety: an instance may be shared between threads; its judging methods run one call
 * at a time (the model and its caches are one), so for parallel judging open one instance per
 * thread, or give several pairs to one {@link #judgeAll} call, which batches them.
 *
 * <p>Errors: a missing folder, an absent device, a bad option or an over-long prompt is an
 * {@link IllegalArgumentException} or its subclass {@code BadInputException}, with a message
 * naming what is wrong.
 */
public final class ReflectRM implements AutoCloseable {
    private final Path model;
    private final ModelRuntime runtime;
    private final Tokenizer tokenizer;
    private final Judge judge;
    private final String templateVersion;
    private boolean closed;

    private ReflectRM(Path model, ModelRuntime runtime, Tokenizer tokenizer, Judge judge, String templateVersion) {
        this.model = model;
        this.runtime = runtime;
        this.tokenizer = tokenizer;
        this.judge = judge;
        this.templateVersion = templateVersion;
    }

    /** Starts opening the model folder {@code model} (config.json, *.safetensors, tokenizer files). */
    public static Builder builder(Path model) {
        return new Builder(model);
    }

    /** Options for opening a model; {@link #open} loads it. */
    public static final class Builder {
        private final Path model;
        private String device = "cpu";
        private int threads = Runtime.getRuntime().availableProcessors();
        private String templateVersion = JudgeTemplate.DEFAULT_VERSION;
        private Path templateDir;
        private PrintWriter notices = new PrintWriter(System.err, true);
        private JudgeTemplate template;
        private DType kvCache = DType.F32;

        private Builder(Path model) {
            this.model = Objects.requireNonNull(model, "model");
        }

        /** {@code cpu} (the default, the deterministic reference), {@code opencl}, {@code cuda} or {@code auto}. */
        public Builder device(String kind) {
            this.device = Objects.requireNonNull(kind, "device");
            return this;
        }

        /**
         * What the KV caches hold: F32 (the default, exact) or BF16 (CPU only; half the memory and
         * half the cache bytes a decode step reads).
         */
        public Builder kvCache(DType type) {
            this.kvCache = Objects.requireNonNull(type, "kvCache");
            return this;
        }

        /** Compute threads on the host (default: all cores). */
        public Builder threads(int n) {
            this.threads = n;
            return this;
        }

        /** Bundled prompt templates of this version (default {@value JudgeTemplate#DEFAULT_VERSION}). */
        public Builder templateVersion(String version) {
            this.templateVersion = Objects.requireNonNull(version, "templateVersion");
            return this;
        }

        /** Own templates: a folder with response.txt, analysis.txt and version.txt (overrides the version). */
        public Builder templateDir(Path dir) {
            this.templateDir = dir;
            return this;
        }

        /** Templates already chosen (overrides the version and the folder), e.g. by {@link ReflectRM#template}. */
        public Builder template(JudgeTemplate chosen) {
            this.template = Objects.requireNonNull(chosen, "template");
            return this;
        }

        /** Where notices go (the device chosen, a template mismatch); default standard error. */
        public Builder notices(PrintWriter out) {
            this.notices = Objects.requireNonNull(out, "notices");
            return this;
        }

        /** Loads the model onto the device. */
        public ReflectRM open() {
            JudgeTemplate template = this.template != null ? this.template
                    : ReflectRM.template(model, templateVersion, templateDir, notices);
            Tokenizer tokenizer = TokenizerFiles.load(model, "the model folder");
            JudgePrompts prompts = new JudgePrompts(tokenizer, TokenizerFiles.chatTemplate(tokenizer, model), template);
            ModelRuntime runtime = ModelRuntime.open(model, device, threads, kvCache, notices);
            Judge judge = new Judge(new ModelTextGenerator(runtime.languageModel(), tokenizer), prompts);
            return new ReflectRM(model, runtime, tokenizer, judge, template.version());
        }
    }

    /**
     * The prompt templates to judge {@code model} with: {@code dir}'s when given, else the bundled
     * {@code version}; a model GRPO-trained with another version gets a warning on {@code notices}.
     */
    public static JudgeTemplate template(Path model, String version, Path dir, PrintWriter notices) {
        JudgeTemplate template = dir != null ? JudgeTemplate.fromDir(dir) : JudgeTemplate.bundled(version);
        GrpoTrainer.templateVersionOf(model).filter(v -> !v.equals(template.version())).ifPresent(v -> {
            notices.println("reflectrm-j: warning: " + model + " was trained with judge template " + v
                    + " but is judged with " + template.version() + " (--template-version " + v + " matches it)");
            notices.flush();
        });
        return template;
    }

    /** Judges one pair. */
    public Judgment judge(Pair pair, JudgeOptions options) {
        return judgeAll(List.of(pair), options).getFirst();
    }

    /**
     * Judges several pairs as one batch: their rollouts are one batched generation and their
     * reflections another, which keeps a GPU busy. Results agree with one-at-a-time judging up to
     * float rounding; each judgment's {@link Judgment#seconds()} is the batch's.
     */
    public synchronized List<Judgment> judgeAll(List<Pair> pairs, JudgeOptions options) {
        requireOpen();
        Judge.Options o = options.engine();
        List<Judge.Item> items = new ArrayList<>();
        List<Long> seeds = new ArrayList<>();
        for (Pair p : pairs) {
            List<ChatMessage> conversation = p.conversation();
            long seed = p.id() == null ? options.seed() : ItemSeeds.of(options.seed(), p.id());
            items.add(new Judge.Item(conversation, p.responseA(), p.responseB()));
            seeds.add(seed);
            if (options.bothOrders()) {
                items.add(new Judge.Item(conversation, p.responseB(), p.responseA()));
                seeds.add(seed);
            }
        }
        long t0 = System.nanoTime();
        List<Judge.Result> results = judge.judgeAll(items, o, seeds.stream().mapToLong(Long::longValue).toArray());
        double seconds = (System.nanoTime() - t0) / 1e9;
        int per = options.bothOrders() ? 2 : 1;
        List<Judgment> out = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            out.add(Judgments.of(pairs.get(i), options.mode(), results.subList(i * per, (i + 1) * per), seconds));
        }
        return out;
    }

    /**
     * The judgment as a self-contained HTML page: every rollout's tokens tinted by log-probability,
     * each verdict and confidence, the anchor, the reflections and the vote.
     */
    public String html(Judgment judgment, double bottomFraction) {
        requireOpen();
        Pair p = judgment.pair();
        JudgmentPage.Judgment page = new JudgmentPage.Judgment(new Judge.Item(p.conversation(), p.responseA(), p.responseB()),
                judgment.results(), judgment.verdict(), judgment.status(), bottomFraction);
        return JudgmentPage.html(page, id -> ModelTextGenerator.tokenText(tokenizer, id));
    }

    /** Where it computes, e.g. {@code cpu (2 threads)} or the GPU's name. */
    public String device() {
        return runtime.deviceName();
    }

    /** The version of the prompt templates it judges with. */
    public String templateVersion() {
        return templateVersion;
    }

    /** The model folder. */
    public Path model() {
        return model;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this ReflectRM is closed");
        }
    }

    /** Releases the model and the device. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            runtime.close();
        }
    }
}
