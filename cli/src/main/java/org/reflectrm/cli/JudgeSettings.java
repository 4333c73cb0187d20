package org.reflectrm.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Mode;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgeTemplate;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** How to judge: the mode and its options and the prompt templates ({@code judge} and {@code eval}). */
final class JudgeSettings {
    @Option(names = "--mode", paramLabel = "M", defaultValue = "reflect", description = "greedy, vote or reflect (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--rollouts", paramLabel = "N", defaultValue = "8", description = "Sampled analyses for vote and reflect (default ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature of the rollouts (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--bottom-frac", paramLabel = "F", defaultValue = "0.1", description = "Confidence = mean log-probability of this lowest fraction of a rollout's tokens (default ${DEFAULT-VALUE}).")
    double bottomFrac;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of sampling and of the reflections' presentation order (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-new-tokens", paramLabel = "K", defaultValue = "1024", description = "Longest analysis (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Mixin
    TemplateOptions templates;

    @Mixin
    KvCacheOption kvCache;

    /** The judge's options for the Java API, which the commands judge through; a bad mode or value is an error naming it. */
    JudgeOptions judgeOptions(boolean bothOrders) {
        Mode m = switch (mode) {
            case "greedy" -> Mode.GREEDY;
            case "vote" -> Mode.VOTE;
            case "reflect" -> Mode.REFLECT;
            default -> throw new BadInputException("--mode must be greedy, vote or reflect, got " + mode);
        };
        return new JudgeOptions(m, rollouts, temperature, bottomFrac, seed, maxNewTokens, bothOrders).validated();
    }

    /** The prompt templates (see {@link TemplateOptions#template}). */
    JudgeTemplate template(Path model, PrintWriter err) {
        return templates.template(model, err);
    }
}
