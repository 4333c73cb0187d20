package org.reflectrm.reflect.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.train.data.JsonlLines;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * Reads {@code data sample}'s input: the judge's pair formats ({@link PairRecord}), every pair
 * labelled. The whole file is checked before any sampling, and a bad line is an error naming
 * the file and line rather than a skipped pair: sampling is hours of compute, better refused at
 * once than found short afterwards. Ids must be unique, since they are the pairs' provenance in
 * the training data and the key that resuming skips by.
 */
public final class LabelledPairs {
    private LabelledPairs() {
    }

    /** The pairs of {@code data} as they will be shown under {@code seed}, in file order; blank lines are ignored. */
    public static List<ShownPair> read(byte[] data, String name, long seed) {
        List<ShownPair> pairs = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        List<int[]> lines = JsonlLines.split(data);
        for (int i = 0; i < lines.size(); i++) {
            int lineNumber = i + 1;
            PairRecord pair;
            try {
                String line = JsonlLines.utf8(data, lines.get(i)[0], lines.get(i)[1]);
                if (line.isBlank()) {
                    continue;
                }
                pair = PairRecord.parse(line, lineNumber, seed);
            } catch (BadRecord | JsonlLines.NotUtf8 e) {
                throw new BadInputException(name + " line " + lineNumber + ": " + e.getMessage());
            }
            if (pair.label() == null) {
                throw new BadInputException(name + " line " + lineNumber + ": pair \"" + pair.id() + "\" has no label; "
                        + "data sample scores analyses against it (\"label\": \"A\" or \"B\", chosen/rejected, or "
                        + "JudgeBench's \"A>B\" / \"B>A\")");
            }
            Integer seen = lineOfId.putIfAbsent(pair.id(), lineNumber);
            if (seen != null) {
                throw new BadInputException(name + " line " + lineNumber + ": pair id \"" + pair.id()
                        + "\" again (first on line " + seen + "); ids name the pairs in the training data");
            }
            pairs.add(ShownPair.of(pair, seed));
        }
        if (pairs.isEmpty()) {
            throw new BadInputException(name + ": no pairs (an empty file)");
        }
        return pairs;
    }
}
