package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import java.nio.file.Path;
import org.reflectrm.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

/** {@code --tokenizer DIR} for model commands that take text: defaults to the {@code --model} folder. */
final class TokenizerOption {
    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Folder with tokenizer.json and tokenizer_config.json, or a tokenizer.json file "
                    + "(default: the --model folder).")
    Path tokenizer;

    /** The tokenizer folder or file in use: {@code --tokenizer}, else the model folder. */
    Path path(Path modelDir) {
        return tokenizer != null ? tokenizer : modelDir;
    }

    Tokenizer load(Path modelDir) {
        return tokenizer != null ? TokenizerFiles.load(tokenizer, "--tokenizer")
                : TokenizerFiles.load(modelDir, "--model (no --tokenizer given)");
    }
}
