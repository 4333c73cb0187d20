package org.reflectrm.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.reflect.grpo.GrpoTrainer;
import picocli.CommandLine.Option;

/** Which judge prompt templates to use ({@code judge}, {@code eval}, {@code data sample}). */
final class TemplateOptions {
    @Option(names = "--template-version", paramLabel = "V", defaultValue = JudgeTemplate.DEFAULT_VERSION, description = "Bundled prompt templates (default ${DEFAULT-VALUE}).")
    String templateVersion;

    @Option(names = "--template-dir", paramLabel = "DIR", description = "Own templates: response.txt, analysis.txt and version.txt.")
    Path templateDir;

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
