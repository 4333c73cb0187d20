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
 * @param file       the file, for messages
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

    /** Checks {@code data}, the bytes of {@code file}; {@code seed} places chosen/rejected records. */
    public static PairFile check(Path file, byte[] data, long seed, boolean dedupe, PrintWriter err) {
        List<int[]> spans = JsonlLines.split(data);
        List<Entry> pairs = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        int malformed = 0, duplicates = 0, nonBlank = 0;
        for (int i = 0; i < spans.size(); i++) {
            int lineNumber = i + 1;
            if (spans.get(i)[0] == spans.get(i)[1]) {
                continue;
            }
            nonBlank++;
            String text;
            PairRecord pair;
            try {
                text = JsonlLines.utf8(data, spans.get(i)[0], spans.get(i)[1]);
                pair = PairRecord.parse(text, lineNumber, seed);
            } catch (BadRecord | JsonlLines.NotUtf8 e) {
                err.println("reflectrm-j: " + file + " line " + lineNumber + ": " + e.getMessage() + " (skipped)");
                err.flush();
                malformed++;
                continue;
            }
            Integer first = lineOfId.putIfAbsent(pair.id(), lineNumber);
            if (first != null) {
                if (!dedupe) {
                    throw new BadInputException(file + " line " + lineNumber + ": pair id \"" + pair.id()
                            + "\" again (first on line " + first + "); ids key the output records and resuming, so "
                            + "each must be unique: fix the file, or pass --dedupe to judge the first and drop the rest");
                }
                err.println("reflectrm-j: " + file + " line " + lineNumber + ": pair id \"" + pair.id()
                        + "\" again (first on line " + first + "); dropped (--dedupe keeps the first)");
                err.flush();
                duplicates++;
                continue;
            }
            pairs.add(new Entry(lineNumber, text, pair));
        }
        return new PairFile(file, spans.size(), List.copyOf(pairs), nonBlank, malformed, duplicates);
    }
}
