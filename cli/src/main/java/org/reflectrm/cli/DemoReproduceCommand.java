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
import java.util.Locale;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j demo reproduce}: the demo judge rebuilt from a seed, phase by phase, with
 * the project's own commands (run in this JVM): the toy world's data and tokenizer, base SFT from
 * random weights, self-sampling, the Pref/Refl data, RFT and unified GRPO, rejection-sampling SFT,
 * and evaluation in both orders, ending with the toy-scale analog of the paper's Tables 1 and 5.
 *
 * <p>Each finished phase leaves a marker in {@code --out/phases/}; a rerun (after a kill, say)
 * skips those and resumes the one in flight through its command's own resume.
 */
@Command(name = "reproduce", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Rebuild the demo judge from a seed and evaluate it against its baselines: demo data, init, "
                + "base SFT, data sample, data build (unified, Pref-only and SFT), train grpo (RFT and unified), "
                + "train sft (rejection sampling), and eval of each on held-out pairs in both orders.",
                "Ends with a table (accuracy and positional consistency with 95%% intervals, per task) on stdout, "
                        + "and --out/report.html. A rerun with the same --out resumes where it stopped."})
final class DemoReproduceCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (every phase's files).")
    Path out;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of every phase (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--quick", description = "A few-minute run at a fraction of the sizes, for CI: it checks the "
            + "chain, not the paper's direction.")
    boolean quick;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Spec
    CommandSpec spec;

    private final ObjectMapper mapper = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if (threads != null && threads < 1) {
            throw new BadInputException("--threads must be at least 1, got " + threads);
        }
        DemoRecipe recipe = quick ? DemoRecipe.QUICK : DemoRecipe.FULL;
        Files.createDirectories(out.resolve("phases"));
        try (OutputLock lock = OutputLock.folder(out, "--out")) {
            checkRecipe(recipe);
            List<DemoRecipe.Phase> phases = recipe.phases(out, seed, threads);
            long start = System.nanoTime();
            for (int i = 0; i < phases.size(); i++) {
                runPhase(err, phases.get(i), i + 1, phases.size());
            }
            err.printf(Locale.ROOT, "demo reproduce: all %d phases done in %s (this run)%n", phases.size(),
                    minutes(System.nanoTime() - start));
            err.flush();
            PrintWriter stdout = spec.commandLine().getOut();
            stdout.print(DemoTable.of(mapper, out, recipe.systems()));
            stdout.flush();
            return 0;
        }
    }

    /** A rerun must use the recipe the folder was started with: mixing sizes would mix results. */
    private void checkRecipe(DemoRecipe recipe) throws IOException {
        Path file = out.resolve("phases/recipe.json");
        ObjectNode wanted = mapper.createObjectNode().put("recipe", recipe.name()).put("seed", seed);
        if (Files.isRegularFile(file)) {
            JsonNode had = mapper.readTree(file.toFile());
            if (!had.path("recipe").asText().equals(recipe.name()) || had.path("seed").asLong() != seed) {
                throw new BadInputException("--out: " + out + " holds a " + had.path("recipe").asText() + " run with seed "
                        + had.path("seed").asText() + "; rerun with the same settings or choose a new --out");
            }
            return;
        }
        AtomicFiles.write(file, (mapper.writeValueAsString(wanted) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private void runPhase(PrintWriter err, DemoRecipe.Phase phase, int index, int count) throws IOException {
        Path marker = out.resolve("phases").resolve(phase.name() + ".json");
        String head = String.format(Locale.ROOT, "[%d/%d] %s", index, count, phase.name());
        if (Files.isRegularFile(marker)) {
            err.println(head + ": done in an earlier run, skipped");
            err.flush();
            return;
        }
        err.println(head + ": " + phase.describe());
        err.flush();
        long t0 = System.nanoTime();
        for (List<String> args : phase.commands()) {
            err.println("  reflectrm-j " + String.join(" ", args));
            err.flush();
            // The phases' own stdout (eval's tables, init's folder) goes to stderr with their logs:
            // stdout is this command's table alone.
            int code = Main.run(args.toArray(String[]::new), err, err);
            if (code != 0) {
                throw new IllegalStateException(head + " failed (exit " + code + "): reflectrm-j " + String.join(" ", args)
                        + "; rerun demo reproduce with the same --out to resume");
            }
        }
        long elapsed = System.nanoTime() - t0;
        ObjectNode done = mapper.createObjectNode().put("phase", phase.name()).put("seconds", elapsed / 1e9);
        AtomicFiles.write(marker, (mapper.writeValueAsString(done) + "\n").getBytes(StandardCharsets.UTF_8));
        err.printf(Locale.ROOT, "%s: done in %s%n", head, minutes(elapsed));
        err.flush();
    }

    static String minutes(long nanos) {
        long s = Math.round(nanos / 1e9);
        return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
