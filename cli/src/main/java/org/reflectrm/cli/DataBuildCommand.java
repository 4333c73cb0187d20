package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.reflect.data.DataBuilder;
import org.reflectrm.reflect.data.Ratio;
import org.reflectrm.reflect.data.SampleRecord;
import org.reflectrm.reflect.data.SamplesFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j data build}: training data from {@code data sample}'s output. Needs no
 * model: the samples hold the pairs as shown, so the judge's prompts are rendered from them.
 * The output is written whole or not at all (a temporary file moved into place).
 */
@Command(name = "build", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Build training data from sampled analyses: drop easy pairs (all N correct); every other pair is a "
                + "Pref record (which response is better); every pair with a correct and a parseable wrong analysis gives a "
                + "Refl record (which of the two critiques is better, the label the correct one). Pref and Refl are mixed at "
                + "--pref-refl-ratio by subsampling the larger side, never by repeating records, and shuffled.",
                "--format grpo (default) writes {task, prompt, verdict_kind, label, template_version, pair_id, order, samples?} "
                        + "for train grpo (prompt is TRL's conversational format); --format sft writes rejection-sampling "
                        + "SFT data for train sft: each correct analysis of a kept pair as {messages} (Pref only: the samples "
                        + "hold no reflections to imitate)."})
final class DataBuildCommand implements Callable<Integer> {
    static final String DEFAULT_RATIO = "4:1";

    @Option(names = "--samples", required = true, paramLabel = "FILE", description = "data sample's output.")
    Path samples;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Training JSONL, replaced whole.")
    Path out;

    @Option(names = "--pref-refl-ratio", paramLabel = "P:R", description = "Pref records per Refl records, positive integers "
            + "(default " + DEFAULT_RATIO + ").")
    String ratio;

    @Option(names = "--pref-only", description = "Pref records only (the rejection-sampling baseline without reflection).")
    boolean prefOnly;

    @Option(names = "--format", paramLabel = "F", defaultValue = "grpo", description = "grpo or sft (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--stats", paramLabel = "FILE", description = "Also write the counts as JSON: pairs, easy_dropped, all_wrong, "
            + "mixed, pref, refl, n_correct_histogram (pairs by number correct, 0..N), ...")
    Path stats;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the subsampling, of each Refl record's "
            + "choice of analyses and their order, and of the record order (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--template-dir", paramLabel = "DIR", description = "The templates the samples were drawn with, when they are "
            + "not bundled: response.txt, analysis.txt and version.txt (its version must be the samples').")
    Path templateDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        DataBuilder.Options options = options();
        requireFolder(out, "--out");
        if (stats != null) {
            requireFolder(stats, "--stats");
        }
        byte[] data;
        try {
            data = Files.readAllBytes(samples);
        } catch (NoSuchFileException e) {
            throw new BadInputException("--samples " + samples + ": no such file");
        }
        List<SampleRecord> records = SamplesFile.read(data, samples.toString());
        JudgeTemplate template = template(records.getFirst().template());
        ObjectMapper mapper = new ObjectMapper();
        DataBuilder.Built built = DataBuilder.build(records, template, options, samples.toString(), mapper);
        AtomicFiles.write(out, channel -> {
            // Not closed here: AtomicFiles forces and closes the channel itself.
            OutputStream o = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
            for (ObjectNode r : built.records()) {
                o.write(mapper.writeValueAsBytes(r));
                o.write('\n');
            }
            o.flush();
        });
        if (stats != null) {
            AtomicFiles.write(stats, (mapper.writerWithDefaultPrettyPrinter()
                    .writeValueAsString(built.stats().toJson(mapper)) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        PrintWriter err = spec.commandLine().getErr();
        err.print(built.stats().table());
        err.printf("wrote %d records to %s (template %s)%n", built.records().size(), out, template.version());
        err.flush();
        return 0;
    }

    /** The options, refusing combinations that would silently mean something else. */
    private DataBuilder.Options options() {
        DataBuilder.Format f = switch (format.toLowerCase(Locale.ROOT)) {
            case "grpo" -> DataBuilder.Format.GRPO;
            case "sft" -> DataBuilder.Format.SFT;
            default -> throw new BadInputException("--format must be grpo or sft, got " + format);
        };
        if (prefOnly && ratio != null) {
            throw new BadInputException("--pref-only and " + Ratio.OPTION + " are mutually exclusive: give one");
        }
        if (f == DataBuilder.Format.SFT && ratio != null) {
            throw new BadInputException(Ratio.OPTION + " does not apply to --format sft: SFT data is Pref only "
                    + "(the samples hold no reflections to imitate)");
        }
        for (Path p : stats == null ? List.of(out) : List.of(out, stats)) {
            if (p.toAbsolutePath().normalize().equals(samples.toAbsolutePath().normalize())) {
                throw new BadInputException((p == out ? "--out" : "--stats") + " must differ from --samples");
            }
        }
        if (stats != null && stats.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new BadInputException("--stats must differ from --out");
        }
        Ratio r = prefOnly || f == DataBuilder.Format.SFT ? null : Ratio.parse(ratio == null ? DEFAULT_RATIO : ratio);
        return new DataBuilder.Options(f, r, seed);
    }

    /** The samples' templates: bundled, or --template-dir's when it holds the same version. */
    private JudgeTemplate template(String version) {
        if (templateDir != null) {
            JudgeTemplate t = JudgeTemplate.fromDir(templateDir);
            if (!t.version().equals(version)) {
                throw new BadInputException("--template-dir " + templateDir + " holds template version " + t.version()
                        + ", but " + samples + " was sampled with " + version);
            }
            return t;
        }
        try {
            return JudgeTemplate.bundled(version);
        } catch (BadInputException e) {
            throw new BadInputException(samples + ": sampled with template version " + version + ", which is not bundled; "
                    + "give its folder with --template-dir DIR");
        }
    }

    /** Fails with a clear message unless {@code file}'s folder exists (rather than an I/O failure at the end). */
    static void requireFolder(Path file, String option) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new BadInputException(option + " " + file + ": no folder " + parent);
        }
    }
}
