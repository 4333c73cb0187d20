package org.reflectrm.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.reflect.grpo.GrpoTrainer;
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

    @Option(names = "--template-version", paramLabel = "V", defaultValue = JudgeTemplate.DEFAULT_VERSION, description = "Bundled prompt templates (default ${DEFAULT-VALUE}).")
    String templateVersion;

    @Option(names = "--template-dir", paramLabel = "DIR", description = "Own templates: response.txt, analysis.txt and version.txt.")
    Path templateDir;

    /** The judge's options; a bad mode or value is an error naming the option. */
    Judge.Options options() {
        Judge.Mode m = switch (mode) {
            case "greedy" -> Judge.Mode.GREEDY;
            case "vote" -> Judge.Mode.VOTE;
            case "reflect" -> Judge.Mode.REFLECT;
            default -> throw new BadInputException("--mode must be greedy, vote or reflect, got " + mode);
        };
        return new Judge.Options(m, rollouts, temperature, bottomFrac, seed, maxNewTokens);
    }

    /** The prompt templates, with a warning when {@code model} was GRPO-trained with another version. */
    JudgeTemplate template(Path model, PrintWriter err) {
        JudgeTemplate template = templateDir != null ? JudgeTemplate.fromDir(templateDir) : JudgeTemplate.bundled(templateVersion);
        GrpoTrainer.templateVersionOf(model).filter(v -> !v.equals(template.version())).ifPresent(v -> {
            err.println("reflectrm-j: warning: " + model + " was trained with judge template " + v
                    + " but is judged with " + template.version() + " (--template-version " + v + " matches it)");
            err.flush();
        });
        return template;
    }
}
