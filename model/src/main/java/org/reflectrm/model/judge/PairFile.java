package org.reflectrm.model.judge;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.JsonlLines;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * A JSONL file of pairs to judge, read and checked before any judging, the same way wherever it
 * is judged ({@code judge --input}, the Spark job): a malformed line is reported on {@code err}
 * with its number and counted, and an id on two lines is an error naming both lines, or with
 * {@code dedupe} the later line is dropped and reported.
 *
 * @param file       the file (or a folder of Parquet files), for messages
 * @param lines      every line, blank ones included
 * @param pairs      the lines to judge, in file order
 * @param nonBlank   the lines read, as the skipped-lines message counts them
 * @param malformed  lines skipped as malformed
 * @param duplicates lines dropped by {@code dedupe}
 */
public record PairFile(Path file, int lines, List<Entry> pairs, int nonBlank, int malformed, int duplicates) {

    /** One pair to judge: its 1-based line number, its text and the record parsed from it. */
    public record Entry(int lineNumber, String text, PairRecord pair) {
    }

    /** The bytes of the {@code --input} file, or a bad-input error when there is none. */
    public static byte[] bytes(Path input) throws IOException {
        try {
            return Files.readAllBytes(input);
        } catch (NoSuchFileException e) {
            throw new BadInputException("--input " + input + ": no such file");
        }
    }

    /**
     * An input's lines, or a table's rows, numbered from 1 in a stable order, and where each is for
     * messages: the JSONL file's lines, or the rows of Parquet files read as the JSON lines they would be.
     */
    public interface Lines {
        /** How many there are, blank lines included. */
        int count();

        /** The text of line {@code number}: one JSON object, or empty for a blank line. */
        String text(int number) throws BadRecord, JsonlLines.NotUtf8;

        /** The file that holds line {@code number}. */
        String file(int number);

        /** Where line {@code number} is in its file: {@code "line 3"}, {@code "row 3"}. */
        String place(int number);
    }

    /** Checks {@code data}, the bytes of {@code file}; {@code seed} places chosen/rejected records. */
    public static PairFile check(Path file, byte[] data, long seed, boolean dedupe, PrintWriter err) {
        List<int[]> spans = JsonlLines.split(data);
        return check(file, new Lines() {
            public int count() {
                return spans.size();
            }

            public String text(int number) throws JsonlLines.NotUtf8 {
                int[] span = spans.get(number - 1);
                return JsonlLines.utf8(data, span[0], span[1]);
            }

            public String file(int number) {
                return file.toString();
            }

            public String place(int number) {
                return "line " + number;
            }
        }, seed, dedupe, err);
    }

    /** Checks {@code lines}, the content of {@code input} (a file or a folder of files), as a JSONL file's. */
    public static PairFile check(Path input, Lines lines, long seed, boolean dedupe, PrintWriter err) {
        List<Entry> pairs = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        int malformed = 0, duplicates = 0, blank = 0;
        for (int lineNumber = 1; lineNumber <= lines.count(); lineNumber++) {
            String where = lines.file(lineNumber) + " " + lines.place(lineNumber);
            String text;
            PairRecord pair;
            try {
                text = lines.text(lineNumber);
                if (text.isEmpty()) {
                    blank++;
                    continue;
                }
                pair = PairRecord.parse(text, lineNumber, seed);
            } catch (BadRecord | JsonlLines.NotUtf8 e) {
                err.println("reflectrm-j: " + where + ": " + e.getMessage() + " (skipped)");
                err.flush();
                malformed++;
                continue;
            }
            Integer first = lineOfId.putIfAbsent(pair.id(), lineNumber);
            if (first != null) {
                // The first one's place alone when it is in the same file: "(first on line 2)".
                String firstWhere = (lines.file(first).equals(lines.file(lineNumber)) ? "" : lines.file(first) + " ")
                        + lines.place(first);
                if (!dedupe) {
                    throw new BadInputException(where + ": pair id \"" + pair.id()
                            + "\" again (first on " + firstWhere + "); ids key the output records and resuming, so "
                            + "each must be unique: fix the file, or pass --dedupe to judge the first and drop the rest");
                }
                err.println("reflectrm-j: " + where + ": pair id \"" + pair.id()
                        + "\" again (first on " + firstWhere + "); dropped (--dedupe keeps the first)");
                err.flush();
                duplicates++;
                continue;
            }
            pairs.add(new Entry(lineNumber, text, pair));
        }
        return new PairFile(input, lines.count(), List.copyOf(pairs), lines.count() - blank, malformed, duplicates);
    }
}
