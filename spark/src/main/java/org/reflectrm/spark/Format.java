package org.reflectrm.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The formats the job reads pairs from ({@code --input-format}) and writes part files in ({@code --output-format}). */
enum Format {
    JSONL, PARQUET;

    /** The part files' extension, and the name the manifest records. */
    String extension() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The input's format when none is given: a folder or a {@code .parquet} file is Parquet, anything else JSONL. */
    static Format of(Path input) {
        return Files.isDirectory(input) || input.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".parquet")
                ? PARQUET : JSONL;
    }
}
