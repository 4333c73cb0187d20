package org.reflectrm.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.api.ReflectRM;
import picocli.CommandLine.Option;

/** Which judge prompt templates to use ({@code judge}, {@code eval}, {@code data sample}). */
final class TemplateOptions {
    @Option(names = "--template-version", paramLabel = "V", defaultValue = JudgeTemplate.DEFAULT_VERSION, description = "Bundled prompt templates (default ${DEFAULT-VALUE}).")
    String templateVersion;

    @Option(names = "--template-dir", paramLabel = "DIR", description = "Own templates: response.txt, analysis.txt and version.txt.")
    Path templateDir;

    /** The prompt templates, with a warning when {@code model} was GRPO-trained with another version. */
    JudgeTemplate template(Path model, PrintWriter err) {
        return ReflectRM.template(model, templateVersion, templateDir, err);
    }
}
