package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.List;
import java.util.stream.Stream;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Presets;
import org.reflectrm.model.qwen3.RandomCheckpoint;
import org.reflectrm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j init}: a Hugging Face-format Qwen3 folder with random weights. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"Write a Qwen3 model folder with random weights (config.json, generation_config.json, safetensors).",
                "For benchmarks and tests that must not depend on downloaded weights."})
final class InitCommand implements Callable<Integer> {
    @Option(names = "--preset", required = true, paramLabel = "NAME",
            description = "tiny, toy, toy-large, train-small, qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b or qwen3-14b.")
    String preset;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", paramLabel = "T", defaultValue = "bf16", description = "bf16, f16 or f32 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to create (must be empty or absent).")
    Path out;

    @Option(names = "--force", description = "Write into a non-empty folder, replacing model files there.")
    boolean force;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "A tokenizer of your own (tokenizer.json and "
            + "tokenizer_config.json in DIR), copied into --out: the vocabulary is sized to it (rounded up to a multiple "
            + "of 64), with its <|endoftext|> and <|im_end|> as BOS and EOS. Default: Qwen3's vocabulary, no tokenizer files.")
    Path tokenizer;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        DType type;
        try {
            type = DType.fromFlag(dtype);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--dtype: " + e.getMessage());
        }
        if (!Qwen3Presets.names().contains(preset)) {
            throw new BadInputException("--preset: unknown preset '" + preset + "'; expected one of " + Qwen3Presets.names());
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BadInputException("--out: " + out + " exists and is not a directory");
        }
        if (Files.isDirectory(out) && !force) {
            try (Stream<Path> entries = Files.list(out)) {
                if (entries.findAny().isPresent()) {
                    throw new BadInputException("--out: " + out + " is not empty; choose a new folder or pass --force");
                }
            }
        }
        String torchDtype = switch (type) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
        Qwen3Config config = Qwen3Presets.config(preset, torchDtype);
        Tokenizer own = null;
        if (tokenizer != null) {
            if (!Files.isRegularFile(tokenizer.resolve("tokenizer_config.json"))) {
                throw new BadInputException("--tokenizer " + tokenizer + ": expected a folder with tokenizer.json and "
                        + "tokenizer_config.json (the chat template)");
            }
            own = TokenizerFiles.load(tokenizer, "--tokenizer");
            int bos = special(own, "<|endoftext|>"), eos = special(own, "<|im_end|>");
            int vocab = (own.vocabSize() + 63) / 64 * 64;
            config = Qwen3Presets.config(preset, torchDtype, vocab, bos, eos);
        }
        PrintWriter err = spec.commandLine().getErr();
        err.printf("init: writing %s (%,d parameters, %s) to %s%n", preset,
                config.parameterCount(!config.tieWordEmbeddings()), type, out);
        if (force && Files.isDirectory(out)) {
            removeOldWeights(out);
        }
        RandomCheckpoint.write(config, type, seed, out);
        if (own != null) {
            for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.copy(tokenizer.resolve(file), out.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        spec.commandLine().getOut().println(out.toAbsolutePath());
        return 0;
    }

    private Integer special(Tokenizer t, String token) {
        return t.tokenId(token).orElseThrow(() -> new BadInputException("--tokenizer " + tokenizer + ": has no " + token
                + " (the chat template and the judge need it)"));
    }

    /**
     * Weight files an earlier save left would contradict the new one: an old index takes
     * precedence over a new single model.safetensors, and old shards would be left dangling.
     */
    private static void removeOldWeights(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                if (Files.isRegularFile(p) && (name.equals("model.safetensors") || name.equals("model.safetensors.index.json")
                        || name.matches("model-\\d{5}-of-\\d{5}\\.safetensors"))) {
                    Files.delete(p);
                }
            }
        }
    }
}
