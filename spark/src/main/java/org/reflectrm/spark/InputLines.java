package org.reflectrm.spark;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Serializable;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;
import org.reflectrm.model.judge.PairFile;

/**
 * The job's input, read and checked on the driver before any judging, as {@code judge --input}
 * reads it (a Parquet input's rows as the JSON lines they would be, see {@link ParquetPairs}): a malformed line is reported with its number and counted, an id on two lines is an
 * error naming both (or, with {@code dedupe}, the later line is dropped and reported). The good
 * lines are kept as text with their numbers: tasks parse them again on the executors (the parsed
 * form is not serializable, and the text is what a rerun compares).
 *
 * @param lines     every line of the file (or row of the Parquet input), blank ones included (partitions are ranges of these)
 * @param good      the lines to judge, in file order
 * @param nonBlank  lines read, as the command line counts them for its skipped-lines message
 * @param sha256    the file's digest (a Parquet input's: its rows'): a rerun must see the same input to reuse part files
 * @param unit      what the input holds, for messages: "line" or "row"
 */
record InputLines(Path file, String unit, int lines, List<Line> good, int nonBlank, int malformed, int duplicates, String sha256) {

    /** One line to judge: its 1-based number in the file and its text. */
    record Line(int number, String text) implements Serializable {
    }

    /** Reads {@code input} in {@code format}; a Parquet input is read through the session {@code spark} gives. */
    static InputLines read(Path input, Format format, long seed, boolean dedupe, PrintWriter err,
                           Supplier<SparkSession> spark) throws IOException {
        // The command line's checks and words (PairFile), so the two report a bad line or row alike.
        if (format == Format.PARQUET) {
            ParquetPairs rows = ParquetPairs.read(spark.get(), input);
            return of(PairFile.check(input, rows, seed, dedupe, err), "row", rows.content());
        }
        byte[] data = PairFile.bytes(input);
        return of(PairFile.check(input, data, seed, dedupe, err), "line", data);
    }

    private static InputLines of(PairFile checked, String unit, byte[] content) {
        List<Line> good = checked.pairs().stream().map(e -> new Line(e.lineNumber(), e.text())).toList();
        return new InputLines(checked.file(), unit, checked.lines(), good, checked.nonBlank(), checked.malformed(),
                checked.duplicates(), sha256(content));
    }

    /**
     * The lines of each of {@code n} partitions: partition p holds the lines numbered in its
     * share of the file's lines, [p·L/n, (p+1)·L/n), so the same file cut into the same number of
     * partitions gives the same partitions. One pass over the lines, in order.
     */
    List<List<Line>> partitions(int n) {
        List<List<Line>> parts = new ArrayList<>(n);
        for (int p = 0; p < n; p++) {
            parts.add(new ArrayList<>());
        }
        int p = 0;
        for (Line line : good) {
            long index = line.number() - 1;
            while (index >= (long) (p + 1) * lines / n) {
                p++;
            }
            parts.get(p).add(line);
        }
        return parts;
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
