package org.reflectrm.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatTemplateException;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * Loads a model folder's tokenizer and chat template, with messages that name where the path
 * came from and the file.
 */
public final class TokenizerFiles {
    private TokenizerFiles() {
    }

    /**
     * The tokenizer of a folder ({@code tokenizer.json} + {@code tokenizer_config.json}) or of a
     * {@code tokenizer.json} file. {@code origin} says where the path came from, for messages: "--tokenizer", or
     * "--model (no --tokenizer given)".
     */
    public static Tokenizer load(Path dirOrFile, String origin) {
        if (!Files.exists(dirOrFile)) {
            throw new BadInputException(origin + ": " + dirOrFile + " does not exist (expected a folder with tokenizer.json)");
        }
        if (Files.isDirectory(dirOrFile) && !Files.isRegularFile(dirOrFile.resolve("tokenizer.json"))) {
            throw new BadInputException(dirOrFile.resolve("tokenizer.json") + ": not found; " + origin
                    + " names a folder without a tokenizer (pass --tokenizer DIR with tokenizer.json and tokenizer_config.json)");
        }
        return cached(dirOrFile);
    }

    /**
     * The files a tokenizer is read from, with their sizes and modification times: equal keys mean equal files.
     * The command line's entry point and the Java API may load a model many times in one JVM (tests, embedding), and parsing Qwen3's 11 MB
     * tokenizer.json costs more than a small model's whole run, so the last few tokenizers are kept.
     */
    private record Key(List<String> files) {
        static Key of(Path dirOrFile) throws IOException {
            Path json = (Files.isDirectory(dirOrFile) ? dirOrFile.resolve("tokenizer.json") : dirOrFile).toRealPath();
            Path dir = json.getParent();
            List<String> files = new ArrayList<>();
            for (Path p : List.of(json, dir.resolve("tokenizer_config.json"), dir.resolve("chat_template.jinja"))) {
                if (Files.exists(p)) {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                    files.add(p + " " + a.size() + " " + a.lastModifiedTime() + " " + a.fileKey());
                } else {
                    files.add(p + " absent");
                }
            }
            return new Key(files);
        }
    }

    private static final int CACHED = 2;
    private static final Map<Key, Tokenizer> CACHE = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Tokenizer> eldest) {
            return size() > CACHED;
        }
    };

    private static Tokenizer cached(Path dirOrFile) {
        Key key;
        try {
            key = Key.of(dirOrFile);
        } catch (IOException e) {
            return Tokenizer.load(dirOrFile); // let the loader report the problem
        }
        synchronized (CACHE) {
            Tokenizer t = CACHE.get(key);
            if (t != null) {
                return t;
            }
        }
        Tokenizer t = Tokenizer.load(dirOrFile);
        synchronized (CACHE) {
            CACHE.put(key, t);
        }
        return t;
    }

    /** The folder whose {@code tokenizer_config.json} the tokenizer at {@code dirOrFile} was configured by. */
    public static Path configFile(Path dirOrFile) {
        Path dir = Files.isDirectory(dirOrFile) ? dirOrFile : dirOrFile.toAbsolutePath().getParent();
        return dir.resolve("tokenizer_config.json");
    }

    /**
     * The Qwen3 chat template of the tokenizer's {@code tokenizer_config.json} (or {@code chat_template.jinja}).
     * Only the known Qwen3 templates are rendered: there is no general Jinja engine, so another template is an
     * error rather than a silently different prompt.
     */
    public static Qwen3ChatTemplate chatTemplate(Tokenizer tokenizer, Path dirOrFile) {
        Path config = configFile(dirOrFile);
        Optional<String> source = tokenizer.config().chatTemplate();
        if (source.isEmpty()) {
            throw new BadInputException(config + ": no chat_template (and no chat_template.jinja next to it); "
                    + "chat formatting needs the Qwen3 chat template");
        }
        try {
            return Qwen3ChatTemplate.forTemplate(source.get());
        } catch (ChatTemplateException e) {
            throw new BadInputException(config + ": " + e.getMessage(), e);
        }
    }
}
