package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import org.reflectrm.model.ModelRuntime;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.ModelTextGenerator;
import org.reflectrm.model.safetensors.RecordAppender;
import org.reflectrm.reflect.data.LabelledPairs;
import org.reflectrm.reflect.data.PairSampler;
import org.reflectrm.reflect.data.SampleRecord;
import org.reflectrm.reflect.data.ShownPair;
import org.reflectrm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j data sample}: N sampled analyses of every labelled pair, each scored against
 * the label. Records are appended and flushed one whole pair at a time, and a rerun skips the
 * pairs already in the output, as {@code judge --input} does.
 */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Sample N analyses of every labelled pair with the judge (its vote-mode rollouts, on the batched, "
                + "prefix-shared engine) and score each against the label: the raw material of data build.",
                "Each pair is shown A first or B first by a coin seeded by --seed and its id. One JSONL line per pair: "
                        + "id, order (AB/BA), label (the better slot as shown), template, n_correct, samples "
                        + "[{analysis, verdict, correct, confidence, tokens, text}], and the pair as shown "
                        + "(messages, response_1, response_2). Pairs already in --output are skipped, so a rerun resumes."})
final class DataSampleCommand implements Callable<Integer>, DefaultsToDemoModel {
    @Mixin
    CommonOptions common;

    @Mixin
    KvCacheOption kvCache;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Labelled pairs, JSONL in the judge's formats: "
            + "{id, prompt|messages, response_a, response_b, label}, chosen/rejected, or JudgeBench records.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "SAMPLES JSONL, appended one pair at a time.")
    Path output;

    @Option(names = "--n", paramLabel = "N", defaultValue = "8", description = "Analyses per pair (default ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--max-new-tokens", paramLabel = "K", defaultValue = "1024", description = "Longest analysis (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the sampling and of each pair's shown order (default ${DEFAULT-VALUE}); "
            + "a resumed run must use the same.")
    long seed;

    @Option(names = "--batch-pairs", paramLabel = "K", defaultValue = "1", description = "Sample K pairs at a time as one batch, which keeps "
            + "a GPU busier (default ${DEFAULT-VALUE}); the samples do not depend on K.")
    int batchPairs;

    @Mixin
    TemplateOptions templates;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        checkOptions();
        common.defaultToDemo(spec.commandLine().getErr());
        // One run per --output: a second one is refused while this one appends to it.
        try (OutputLock lock = OutputLock.file(output, "--output")) {
            return sample();
        }
    }

    private Integer sample() throws IOException {
        byte[] data;
        try {
            data = Files.readAllBytes(input);
        } catch (NoSuchFileException e) {
            throw new BadInputException("--input " + input + ": no such file");
        }
        List<ShownPair> pairs = LabelledPairs.read(data, input.toString(), seed);
        JudgeTemplate template = templates.template(common.model, spec.commandLine().getErr());
        ObjectMapper mapper = new ObjectMapper();
        Map<String, JsonNode> done = FinishedRecords.read(output, mapper);
        checkResumable(done, pairs, template.version());
        List<ShownPair> pending = pairs.stream().filter(p -> !done.containsKey(p.id())).toList();
        PrintWriter err = spec.commandLine().getErr();
        Tally tally = new Tally();
        long t0 = System.nanoTime();
        if (!pending.isEmpty()) {
            Tokenizer tokenizer = TokenizerFiles.load(common.model, "--model");
            JudgePrompts prompts = new JudgePrompts(tokenizer, TokenizerFiles.chatTemplate(tokenizer, common.model), template);
            try (ModelRuntime runtime = common.openRuntime(kvCache, err);
                 RecordAppender out = new RecordAppender(output)) {
                Judge judge = new Judge(new ModelTextGenerator(runtime.languageModel(), tokenizer), prompts);
                PairSampler sampler = new PairSampler(judge, n, temperature, seed, maxNewTokens);
                ProgressLine progress = new ProgressLine(err);
                for (int from = 0; from < pending.size(); from += batchPairs) {
                    // The batch in one write: a killed run keeps whole batches, so its rerun forms the
                    // same batches from the pairs left (batch composition changes the logits' last bits).
                    StringBuilder lines = new StringBuilder();
                    for (SampleRecord r : sampler.sample(pending.subList(from, Math.min(from + batchPairs, pending.size())))) {
                        lines.append(mapper.writeValueAsString(r.toJson(mapper))).append('\n');
                        tally.add(r);
                    }
                    out.append(lines.toString());
                    progress.show(String.format("%s %d/%d pairs  %.2f pairs/s",
                            ProgressLine.bar((double) tally.pairs / pending.size(), 24), tally.pairs, pending.size(),
                            tally.pairs / ((System.nanoTime() - t0) / 1e9)));
                }
                progress.finish();
            }
        }
        err.printf("sampled %d pairs, %d analyses each, in %.1f s (%d already in %s); %d of %d analyses correct, "
                        + "%d without a verdict; %d easy, %d all wrong, %d mixed%n", tally.pairs, n,
                (System.nanoTime() - t0) / 1e9, pairs.size() - pending.size(), output, tally.correct, tally.pairs * n,
                tally.unparsed, tally.easy, tally.allWrong, tally.pairs - tally.easy - tally.allWrong);
        err.flush();
        return 0;
    }

    private void checkOptions() {
        if (n < 1) {
            throw new BadInputException("--n must be at least 1, got " + n);
        }
        if (!(temperature > 0)) {
            throw new BadInputException("--temperature must be positive: the analyses are sampled, got " + temperature);
        }
        if (maxNewTokens < 1) {
            throw new BadInputException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        if (batchPairs < 1) {
            throw new BadInputException("--batch-pairs must be at least 1, got " + batchPairs);
        }
        if (input.toAbsolutePath().normalize().equals(output.toAbsolutePath().normalize())) {
            throw new BadInputException("--output must differ from --input");
        }
        DataBuildCommand.requireFolder(output, "--output");
    }

    /**
     * A resumed run must continue the same sampling: records of another --n, template or seed
     * (which shows pairs in other orders) would make one file of two runs, which data build refuses.
     */
    private void checkResumable(Map<String, JsonNode> done, List<ShownPair> pairs, String version) {
        for (ShownPair p : pairs) {
            JsonNode r = done.get(p.id());
            if (r == null) {
                continue;
            }
            String where = "--output " + output + " already holds pair \"" + p.id() + "\" ";
            if (!r.path("samples").isArray() || r.get("samples").size() != n) {
                throw new BadInputException(where + "with " + r.path("samples").size() + " samples, but this run asks --n "
                        + n + "; resume with the same options or write to another --output");
            }
            if (!version.equals(r.path("template").asText())) {
                throw new BadInputException(where + "sampled with template " + r.path("template").asText()
                        + ", but this run uses " + version + "; resume with the same options or write to another --output");
            }
            if (!p.order().equals(r.path("order").asText())) {
                throw new BadInputException(where + "shown in order " + r.path("order").asText() + ", but --seed " + seed
                        + " shows it " + p.order() + ": it was sampled with another --seed; resume with the same one");
            }
        }
    }

    /** Counts for the summary line. */
    private static final class Tally {
        int pairs, correct, unparsed, easy, allWrong;

        void add(SampleRecord r) {
            pairs++;
            correct += r.nCorrect();
            unparsed += (int) r.samples().stream().filter(s -> !s.parsed()).count();
            easy += r.nCorrect() == r.samples().size() ? 1 : 0;
            allWrong += r.nCorrect() == 0 ? 1 : 0;
        }
    }
}
