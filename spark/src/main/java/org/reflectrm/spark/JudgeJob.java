package org.reflectrm.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reflectrm-j judge --input} across a Spark cluster: the input's lines (JSONL) or rows
 * (Parquet) are cut into {@code --partitions} ranges, each executor judges its partitions with a
 * model it opens once, and each partition becomes one part file of the output folder (JSONL or
 * Parquet), written whole when done. A rerun skips the partitions whose part file exists, so an
 * interrupted job resumes without judging any pair twice. Records are the command line's ({@link
 * org.reflectrm.api.JudgmentJson}); bad lines are reported and counted as it does, and the job
 * exits 2 after judging the rest.
 */
@Command(name = "JudgeJob", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Judge every pair of a JSONL or Parquet input on Spark executors; one part-NNNNN.jsonl or "
                + ".parquet per partition (see docs/spark.md).")
public final class JudgeJob implements Callable<Integer> {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_BAD_INPUT = 2;

    /** For tests: called on the executor after a partition's part file is committed (e.g. to crash the job there). */
    static volatile IntConsumer afterCommit;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "The model folder, at a path every "
            + "executor can read (shared storage), or the name of an archive given to spark-submit --archives.")
    String model;

    @Option(names = "--input", paramLabel = "FILE", required = true, description = "Pairs, in any shape judge --input reads: "
            + "a JSONL file, or a Parquet file or folder whose rows are such records; read by the driver.")
    Path input;

    @Option(names = "--input-format", paramLabel = "F", description = "jsonl or parquet (default: parquet for a folder "
            + "or a .parquet file, else jsonl).")
    Format inputFormat;

    @Option(names = "--output", paramLabel = "DIR", required = true, description = "Folder of part files, on storage every executor writes to; a rerun resumes it.")
    Path output;

    @Option(names = "--output-format", paramLabel = "F", defaultValue = "jsonl", description = "jsonl or parquet part files (default ${DEFAULT-VALUE}); a rerun must keep it.")
    Format outputFormat;

    @Option(names = "--force", description = "Resume an output folder started with other judging options (mode, "
            + "seed, sampling, template, model) instead of refusing; its records then mix the two.")
    boolean force;

    @Option(names = "--partitions", paramLabel = "N", description = "Cut the input's lines (or rows) into N ranges (default: as the run being resumed did, else Spark's default parallelism). A rerun must use the same N.")
    Integer partitions;

    @Option(names = "--batch-pairs", paramLabel = "K", defaultValue = "1", description = "Judge K pairs at a time within a partition (default ${DEFAULT-VALUE}).")
    int batchPairs;

    @Option(names = "--mode", paramLabel = "M", defaultValue = "reflect", description = "greedy, vote or reflect (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--rollouts", paramLabel = "N", defaultValue = "8", description = "Sampled analyses for vote and reflect (default ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature of the rollouts (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--bottom-frac", paramLabel = "F", defaultValue = "0.1", description = "Confidence = mean log-probability of this lowest fraction of a rollout's tokens (default ${DEFAULT-VALUE}).")
    double bottomFrac;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of sampling, per pair with its id (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-new-tokens", paramLabel = "K", defaultValue = "1024", description = "Longest analysis (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--both-orders", description = "Judge (A, B) and (B, A), as judge --both-orders.")
    boolean bothOrders;

    @Option(names = "--dedupe", description = "A pair id already seen drops the later line (reported); without it a repeated id is an error before any judging.")
    boolean dedupe;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads per executor (default: all its cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "KIND", defaultValue = "cpu", description = "cpu, opencl, cuda, cuda:N or auto, on each executor; with GPU scheduling, cuda and auto take the GPU Spark assigns each task (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--kv-cache", paramLabel = "TYPE", defaultValue = "f32", description = "What the KV caches hold: "
            + "f32 (exact) or bf16 (CPU only: half the memory; logits move slightly). A rerun must keep it "
            + "(default ${DEFAULT-VALUE}).")
    String kvCache;

    @Option(names = "--template-version", paramLabel = "V", defaultValue = JudgeTemplate.DEFAULT_VERSION, description = "Bundled judge templates (default ${DEFAULT-VALUE}).")
    String templateVersion;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private Supplier<SparkSession> spark;
    private PrintWriter err;

    /** Starts Spark only once the options are good: outside spark-submit (no master set) it runs in {@code local[*]}. */
    public static void main(String[] args) {
        PrintWriter err = new PrintWriter(System.err, true);
        SparkSession[] started = new SparkSession[1];
        int code = run(args, () -> {
            SparkSession.Builder b = SparkSession.builder().appName("reflectrm-j judge");
            if (System.getProperty("spark.master") == null) {
                b.master("local[*]");
            }
            return started[0] = b.getOrCreate();
        }, err);
        if (started[0] != null) {
            started[0].stop();
        }
        System.exit(code);
    }

    /** Runs the job with the session {@code spark} gives (asked for once the options are checked); returns the exit code. */
    public static int run(String[] args, Supplier<SparkSession> spark, PrintWriter err) {
        JudgeJob job = new JudgeJob();
        job.spark = spark;
        job.err = err;
        CommandLine cli = new CommandLine(job);
        cli.setOut(err);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (job.verbose) {
                e.printStackTrace(err);
            }
            Throwable bad = badInput(e);
            if (bad != null) {
                err.println("reflectrm-j: error: " + bad.getMessage());
                return EXIT_BAD_INPUT;
            }
            err.println("reflectrm-j: failed: " + e + (job.verbose ? "" : " (run with --verbose for the stack trace)"));
            return EXIT_FAILURE;
        });
        int code = cli.execute(args);
        err.flush();
        return code;
    }

    /** Bad input anywhere in the cause chain (Spark wraps a task's exception in its own). */
    private static Throwable badInput(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadInputException || t instanceof IllegalArgumentException) {
                return t;
            }
        }
        return null;
    }

    /** One partition to judge: its index and its lines. */
    record Task(int partition, List<InputLines.Line> lines) implements Serializable {
    }

    /** What a partition's task did. */
    record Done(int partition, PairBatches.Tally tally, boolean alreadyThere) implements Serializable {
    }

    @Override
    public Integer call() throws IOException {
        if (!List.of("greedy", "vote", "reflect").contains(mode)) {
            throw new BadInputException("--mode must be greedy, vote or reflect, got " + mode);
        }
        if (partitions != null && partitions < 1) {
            throw new BadInputException("--partitions must be at least 1, got " + partitions);
        }
        String kv = kvCache.toUpperCase(Locale.ROOT);
        if (!kv.equals("F32") && !kv.equals("BF16")) {
            throw new BadInputException("--kv-cache must be f32 or bf16, got " + kvCache);
        }
        JudgeSpec spec = new JudgeSpec(model, device, threads, templateVersion, null, mode.toUpperCase(Locale.ROOT),
                rollouts, temperature, bottomFrac, seed, maxNewTokens, bothOrders, batchPairs, kv);
        InputLines lines = InputLines.read(input, inputFormat != null ? inputFormat : Format.of(input), seed, dedupe, err,
                spark);
        SparkSession session = spark.get();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(session.sparkContext());
        ObjectMapper mapper = new ObjectMapper();
        // Without --partitions a rerun cuts the input as the run it resumes did, not by this cluster's parallelism.
        Integer previous = PartFiles.previousPartitions(output, mapper);
        int n = partitions != null ? partitions : previous != null ? previous : jsc.defaultParallelism();
        PartFiles.checkOrWriteManifest(output, lines, n, outputFormat, spec.judgingOptions(mapper), force, mapper, err);
        List<Task> pending = new ArrayList<>();
        int already = 0;
        List<List<InputLines.Line>> parts = lines.partitions(n);
        for (int p = 0; p < n; p++) {
            if (Files.exists(PartFiles.part(output, p, outputFormat))) {
                already++;
            } else {
                pending.add(new Task(p, parts.get(p)));
            }
        }
        long t0 = System.nanoTime();
        String out = output.toAbsolutePath().toString();
        Format format = outputFormat; // not the field: the task's closure must not capture this job
        List<Done> done = List.of();
        if (!pending.isEmpty()) {
            jsc.setJobDescription("reflectrm-j judge " + input.getFileName() + ": " + pending.size() + " of " + n + " partitions");
            // One task per partition: parallelize puts element i of a list of n in slice i.
            done = jsc.parallelize(pending, pending.size()).map(t -> judgePartition(spec, out, format, t)).collect();
        }
        PairBatches.Tally tally = PairBatches.Tally.ZERO;
        for (Done d : done) {
            tally = tally.plus(d.tally());
            already += d.alreadyThere() ? 1 : 0;
        }
        err.printf("judged %d pairs in %.1f s, %d of %d partitions (%d partitions already in %s, %d malformed %ss skipped%s); "
                        + "%d without a verdict%s%n",
                tally.judged(), (System.nanoTime() - t0) / 1e9, n - already, n, already, output, lines.malformed(), lines.unit(),
                lines.duplicates() == 0 ? "" : ", " + lines.duplicates() + " duplicate ids dropped", tally.unparseable(),
                tally.labelled() == 0 ? "" : String.format(Locale.ROOT, "; accuracy %.1f%% of %d labelled",
                        100.0 * tally.correct() / tally.labelled(), tally.labelled()));
        // The command line's rule for skipped lines (SkippedLines): the rest is judged, then exit 2.
        if (lines.malformed() > 0) {
            err.println("reflectrm-j: error: " + input + ": " + lines.malformed() + " of " + lines.nonBlank() + " "
                    + lines.unit() + (lines.nonBlank() == 1 ? "" : "s") + " skipped as bad (reported above with their numbers); "
                    + "the other pairs were judged");
            return EXIT_BAD_INPUT;
        }
        return 0;
    }

    /** On an executor: judges one partition in batches and commits its part file. */
    static Done judgePartition(JudgeSpec spec, String output, Format format, Task task) throws IOException {
        Path part = PartFiles.part(Path.of(output), task.partition(), format);
        if (Files.exists(part)) {
            return new Done(task.partition(), PairBatches.Tally.ZERO, true); // an earlier attempt committed it
        }
        ReflectRM rm = Judges.of(executorSpec(spec));
        JudgeOptions options = spec.options();
        ObjectMapper mapper = new ObjectMapper();
        List<ObjectNode> records = new ArrayList<>();
        PairBatches.Tally tally = PairBatches.Tally.ZERO;
        List<InputLines.Line> lines = task.lines();
        for (int from = 0; from < lines.size(); from += spec.batchPairs()) {
            List<PairRecord> batch = new ArrayList<>();
            for (InputLines.Line line : lines.subList(from, Math.min(lines.size(), from + spec.batchPairs()))) {
                batch.add(parse(line, spec.seed()));
            }
            for (ObjectNode record : PairBatches.judge(rm, options, batch, mapper)) {
                tally = tally.plus(PairBatches.tally(record));
                records.add(record);
            }
            stopIfKilled();
        }
        stopIfKilled(); // a task Spark has given up on must not commit after its rerun started
        PartFiles.write(part, format, records, spec, mapper);
        IntConsumer hook = afterCommit;
        if (hook != null) {
            hook.accept(task.partition());
        }
        return new Done(task.partition(), tally, false);
    }

    private static PairRecord parse(InputLines.Line line, long seed) {
        try {
            return PairRecord.parse(line.text(), line.number(), seed);
        } catch (BadRecord e) {
            throw new IllegalStateException("line " + line.number() + " parsed on the driver but not here: " + e.getMessage(), e);
        }
    }

    private static void stopIfKilled() {
        TaskContext context = TaskContext.get();
        if (context != null) {
            context.killTaskIfInterrupted();
        }
    }

    /**
     * The spec as this executor sees it: a relative model path that is not a folder here names an
     * archive that spark-submit --archives unpacked into SparkFiles' folder.
     */
    static JudgeSpec executorSpec(JudgeSpec spec) {
        Path model = Path.of(spec.model());
        if (model.isAbsolute() || Files.isDirectory(model) || TaskContext.get() == null) {
            return spec;
        }
        Path shipped = Path.of(SparkFiles.get(spec.model()));
        if (!Files.isDirectory(shipped)) {
            return spec; // opening it fails with the usual "not a model folder" naming the path given
        }
        return new JudgeSpec(shipped.toString(), spec.device(), spec.threads(), spec.templateVersion(), spec.templateDir(),
                spec.mode(), spec.rollouts(), spec.temperature(), spec.bottomFraction(), spec.seed(), spec.maxNewTokens(),
                spec.bothOrders(), spec.batchPairs(), spec.kvCache());
    }
}
