package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.SettingsDiff;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.model.safetensors.RecordAppender;
import org.reflectrm.reflect.eval.Comparison;
import org.reflectrm.reflect.eval.JudgmentRecords;
import org.reflectrm.reflect.eval.Selection;
import org.reflectrm.reflect.eval.adapters.BenchmarkFiles;
import org.reflectrm.reflect.eval.metrics.Metrics;
import org.reflectrm.reflect.eval.report.EvalReport;
import org.reflectrm.reflect.eval.report.SummaryTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j eval}: a benchmark judged in both orders and scored with the paper's metrics and the official rule. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a judge on a benchmark file: every comparison is judged in both presentation orders "
                + "(each with the same seed), and accuracy, positional consistency, order agreement, first-slot and "
                + "unparseable rates (with bootstrap 95%% intervals) and the benchmark's official score are computed per "
                + "subset and overall.",
                "Writes to --out: run.json (the settings), judgments.jsonl (one record per comparison and order, "
                        + "written as each is judged: a rerun with the same settings resumes) and summary.json. "
                        + "--rescore DIR recomputes summary.json from the judgments alone, without a model; report.html "
                        + "shows the tables and plots, and --compare DIR... sets several runs side by side."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face model folder (not with --rescore; default: the bundled demo judge).")
    Path model;

    @Option(names = "--benchmark", paramLabel = "B", description = "judgebench, rm-bench, rmb, rewardbench, rewardbench2, "
            + "ppe, helpsteer3 or pairs (default: detected from the fields).")
    String benchmark;

    @Option(names = "--data", paramLabel = "FILE", description = "The benchmark file (JSONL, or a JSON array). See docs/benchmarks.md.")
    Path data;

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--rescore", paramLabel = "DIR", description = "Recompute DIR/summary.json and DIR/report.html from DIR/judgments.jsonl.")
    Path rescore;

    @Option(names = "--compare", paramLabel = "DIR", arity = "1..*", description = "Eval output folders to set side by side in one report, --out/report.html.")
    List<Path> compare;

    @Mixin
    JudgeSettings settings;

    @Option(names = "--single-order", description = "Judge each comparison once, as placed (no positional consistency).")
    boolean singleOrder;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "The first N items (whole RM-Bench prompts, RMB BoN items).")
    int limit;

    @Option(names = "--subset", paramLabel = "NAME", description = "Only this subset.")
    String subset;

    @Option(names = "--sample", paramLabel = "N", defaultValue = "0", description = "A seeded sample of N items, stratified by subset.")
    int sample;

    @Option(names = "--batch-pairs", paramLabel = "K", defaultValue = "1", description = "Judge K comparisons (both orders) as one batch (default ${DEFAULT-VALUE}).")
    int batchPairs;

    @Option(names = "--bootstrap", paramLabel = "N", defaultValue = "1000", description = "Bootstrap resamples for the 95%% intervals (default ${DEFAULT-VALUE}).")
    int bootstrap;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "KIND", defaultValue = "cpu", description = "cpu, opencl, cuda, cuda:N or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Option(names = "--json", description = "Print summary.json on stdout instead of the table.")
    boolean json;

    @Spec
    CommandSpec spec;

    private final ObjectMapper mapper = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if (compare != null) {
            if (out == null || model != null || data != null || rescore != null) {
                throw new BadInputException("--compare DIR... writes --out DIR/report.html from finished runs: give --out only");
            }
            Files.createDirectories(out);
            writeReport(out.resolve("report.html"), compare);
            err.println("wrote " + out.resolve("report.html"));
            err.flush();
            return 0;
        }
        if (rescore != null) {
            if (model != null || data != null || out != null) {
                throw new BadInputException("--rescore DIR works on DIR's judgments alone: do not give --model, --data or --out");
            }
            JsonNode run = readRun(rescore);
            // The intervals as the run had them, unless asked for others.
            Path previous = rescore.resolve("summary.json");
            if (!spec.commandLine().getParseResult().hasMatchedOption("--bootstrap") && Files.isRegularFile(previous)) {
                bootstrap = Math.max(1, mapper.readTree(previous.toFile()).path("bootstrap_samples").asInt(bootstrap));
            }
            try (OutputLock lock = OutputLock.folder(rescore, "--rescore")) {
                return summarize(rescore, run.get("benchmark").asText(), run.get("seed").asLong());
            }
        }
        if (data == null || out == null) {
            throw new BadInputException("eval needs --data FILE and --out DIR, and --model DIR unless it is to judge "
                    + "with the bundled demo judge (or --rescore DIR)");
        }
        model = DemoModel.orDefault(model, err);
        if (batchPairs < 1 || bootstrap < 1) {
            throw new BadInputException("--batch-pairs and --bootstrap must be at least 1");
        }
        JudgeOptions options = settings.judgeOptions(false);
        BenchmarkFiles.Loaded loaded = BenchmarkFiles.read(data, benchmark, settings.seed);
        List<Comparison> comparisons = Selection.select(loaded.comparisons(), subset, limit, sample, settings.seed);
        JudgeTemplate template = settings.template(model, err);
        // One run per --out: a second one is refused while this one appends judgments to it.
        try (OutputLock lock = OutputLock.folder(out, "--out")) {
            return judgeAndSummarize(err, options, loaded, comparisons, template);
        }
    }

    private Integer judgeAndSummarize(PrintWriter err, JudgeOptions options, BenchmarkFiles.Loaded loaded,
                                      List<Comparison> comparisons, JudgeTemplate template) throws IOException {
        checkOrWriteRun(loaded.benchmark(), template.version());
        Path judgments = out.resolve("judgments.jsonl");
        Map<String, JsonNode> done = FinishedRecords.read(judgments, mapper,
                n -> JudgmentRecords.key(n.get("id").asText(), n.path("order").asText()));
        List<String> orders = singleOrder ? List.of("AB") : JudgmentRecords.ORDERS;
        int total = comparisons.size() * orders.size();
        err.printf("%s: %s, %d comparisons (%d subsets), %d judgments (%d already in %s)%s%n", data, loaded.benchmark(),
                comparisons.size(), Selection.subsets(comparisons).size(), total, done.size(), judgments,
                loaded.dropped().isEmpty() ? "" : "; dropped: " + loaded.dropped());
        err.flush();
        ProgressLine progress = new ProgressLine(err);
        try (ReflectRM judge = ReflectRM.builder(model).device(device)
                     .threads(threads == null ? Runtime.getRuntime().availableProcessors() : threads)
                     .kvCache(settings.kvCache.type()).template(template).notices(err).open();
             RecordAppender sink = new RecordAppender(judgments)) {
            List<Comparison> batch = new ArrayList<>();
            List<String> batchOrders = new ArrayList<>();
            int finished = done.size(), startedWith = done.size();
            long t0 = System.nanoTime();
            for (Comparison c : comparisons) {
                for (String order : orders) {
                    if (done.containsKey(JudgmentRecords.key(c.id(), order))) {
                        continue;
                    }
                    batch.add(c);
                    batchOrders.add(order);
                }
                if (batch.size() >= batchPairs * orders.size()) {
                    finished += judgeBatch(judge, options, batch, batchOrders, sink);
                    showProgress(progress, finished, startedWith, total, t0);
                }
            }
            if (!batch.isEmpty()) {
                finished += judgeBatch(judge, options, batch, batchOrders, sink);
                showProgress(progress, finished, startedWith, total, t0);
            }
        }
        progress.finish();
        return summarize(out, loaded.benchmark(), settings.seed);
    }

    /** Judges the pending items as one batch and appends their records, each written whole; clears the batch. */
    private int judgeBatch(ReflectRM judge, JudgeOptions options, List<Comparison> batch, List<String> orders,
                           RecordAppender sink) throws IOException {
        List<Pair> pairs = new ArrayList<>();
        for (int k = 0; k < batch.size(); k++) {
            // Each order is its own pair, responses as shown; the comparison's id seeds both orders alike.
            pairs.add(JudgmentRecords.pair(batch.get(k), orders.get(k)));
        }
        List<Judgment> results = judge.judgeAll(pairs, options);
        double seconds = results.getFirst().seconds() / pairs.size();
        StringBuilder lines = new StringBuilder();
        for (int k = 0; k < batch.size(); k++) {
            lines.append(mapper.writeValueAsString(JudgmentRecords.of(mapper, batch.get(k), orders.get(k), results.get(k),
                    seconds))).append('\n');
        }
        // One write per batch: a kill leaves whole lines, or a torn last one that the rerun cuts off.
        sink.append(lines.toString());
        int n = batch.size();
        batch.clear();
        orders.clear();
        return n;
    }

    private static void showProgress(ProgressLine progress, int finished, int startedWith, int total, long t0) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        double rate = (finished - startedWith) / seconds;
        long eta = rate > 0 ? Math.round((total - finished) / rate) : 0;
        progress.show(String.format("%s %d/%d judgments  %.2f/s  ETA %d:%02d:%02d", ProgressLine.bar((double) finished / total, 24),
                finished, total, rate, eta / 3600, eta / 60 % 60, eta % 60));
    }

    /** Scores {@code dir}'s judgments into {@code dir/summary.json} and prints the table (or the JSON). */
    private int summarize(Path dir, String benchmarkName, long seed) throws IOException {
        Path file = dir.resolve("judgments.jsonl");
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(dir + ": no judgments.jsonl to score");
        }
        List<JsonNode> judgments = new ArrayList<>(FinishedRecords.read(file, mapper,
                n -> JudgmentRecords.key(n.get("id").asText(), n.path("order").asText())).values());
        if (judgments.isEmpty()) {
            throw new BadInputException(file + ": no judgments to score");
        }
        ObjectNode summary = Metrics.summarize(benchmarkName, judgments, seed, bootstrap);
        AtomicFiles.write(dir.resolve("summary.json"),
                (mapper.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n").getBytes(StandardCharsets.UTF_8));
        PrintWriter stdout = spec.commandLine().getOut();
        writeReport(dir.resolve("report.html"), List.of(dir));
        stdout.print(json ? mapper.writerWithDefaultPrettyPrinter().writeValueAsString(summary) + "\n" : SummaryTable.of(summary));
        stdout.flush();
        return 0;
    }

    /** Writes a report of the runs in {@code dirs} (each with run.json and summary.json). */
    private void writeReport(Path file, List<Path> dirs) throws IOException {
        List<EvalReport.Run> runs = new ArrayList<>();
        for (Path d : dirs) {
            Path summary = d.resolve("summary.json");
            if (!Files.isRegularFile(summary)) {
                throw new BadInputException(d + ": no summary.json (run eval, or eval --rescore " + d + ", first)");
            }
            Path name = d.toAbsolutePath().normalize().getFileName();
            runs.add(new EvalReport.Run(name == null ? d.toString() : name.toString(), readRun(d), mapper.readTree(summary.toFile())));
        }
        AtomicFiles.write(file, EvalReport.html(runs).getBytes(StandardCharsets.UTF_8));
    }

    /** The settings that make a run what it is; a rerun into the same --out must match them to resume. */
    private ObjectNode runSettings(String benchmarkName, String templateVersion) {
        ObjectNode o = mapper.createObjectNode();
        o.put("benchmark", benchmarkName);
        o.put("data", data.toAbsolutePath().normalize().toString());
        o.put("model", model.toAbsolutePath().normalize().toString());
        o.put("mode", settings.mode);
        o.put("rollouts", settings.rollouts);
        o.put("temperature", settings.temperature);
        o.put("bottom_frac", settings.bottomFrac);
        o.put("seed", settings.seed);
        o.put("max_new_tokens", settings.maxNewTokens);
        o.put("template_version", templateVersion);
        o.put("single_order", singleOrder);
        o.put("limit", limit);
        if (settings.kvCache.type() != DType.F32) {
            o.put("kv_cache", settings.kvCache.type().name());   // absent for F32, so runs from before the option resume
        }
        o.put("sample", sample);
        if (subset != null) {
            o.put("subset", subset);
        }
        return o;
    }

    private void checkOrWriteRun(String benchmarkName, String templateVersion) throws IOException {
        ObjectNode now = runSettings(benchmarkName, templateVersion);
        Path run = out.resolve("run.json");
        if (Files.isRegularFile(run)) {
            JsonNode before = readRun(out);
            List<String> diffs = SettingsDiff.between(before, now);
            if (!diffs.isEmpty()) {
                throw new BadInputException("--out " + out + " holds a run with other settings (" + String.join("; ", diffs)
                        + "); rerun with those settings to resume it, or choose another --out");
            }
            return;
        }
        AtomicFiles.write(run, (mapper.writerWithDefaultPrettyPrinter().writeValueAsString(now) + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode readRun(Path dir) throws IOException {
        Path run = dir.resolve("run.json");
        if (!Files.isRegularFile(run)) {
            throw new BadInputException(dir + ": no run.json; not an eval output folder");
        }
        JsonNode n = mapper.readTree(run.toFile());
        if (n == null || !n.hasNonNull("benchmark")) {
            throw new BadInputException(run + ": not an eval run file (no \"benchmark\")");
        }
        return n;
    }
}
