package org.reflectrm.reflect.data;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.JsonlLines;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * Reads SAMPLES.jsonl for {@code data build}. A training file is built from all of it, so any
 * bad line is an error naming the file and line, not a skipped record: a silently smaller or
 * skewed training set would be worse. Besides each record ({@link SampleRecord#parse}), the file
 * must be one sampling run: every pair once, all with the same number of samples (the histogram
 * and "easy" depend on it) and the same template version (a model is trained on one).
 */
public final class SamplesFile {
    private SamplesFile() {
    }

    /** The records of {@code data}, in file order; {@code name} names the file in messages. Blank lines are ignored. */
    public static List<SampleRecord> read(byte[] data, String name) {
        List<SampleRecord> records = new ArrayList<>();
        Map<String, Integer> lineOfId = new HashMap<>();
        List<int[]> lines = JsonlLines.split(data);
        for (int i = 0; i < lines.size(); i++) {
            int lineNumber = i + 1;
            SampleRecord r;
            try {
                String line = JsonlLines.utf8(data, lines.get(i)[0], lines.get(i)[1]);
                if (line.isBlank()) {
                    continue;
                }
                r = SampleRecord.parse(line);
            } catch (BadRecord | JsonlLines.NotUtf8 e) {
                throw new BadInputException(name + " line " + lineNumber + ": " + e.getMessage());
            }
            Integer seen = lineOfId.putIfAbsent(r.id(), lineNumber);
            if (seen != null) {
                throw new BadInputException(name + " line " + lineNumber + ": pair \"" + r.id()
                        + "\" again (first on line " + seen + "); each pair is sampled once");
            }
            if (!records.isEmpty()) {
                SampleRecord first = records.getFirst();
                int firstLine = lineOfId.get(first.id());
                if (r.samples().size() != first.samples().size()) {
                    throw new BadInputException(name + " line " + lineNumber + ": " + r.samples().size()
                            + " samples, but line " + firstLine + " has " + first.samples().size()
                            + "; a file holds one sampling run (one --n)");
                }
                if (!r.template().equals(first.template())) {
                    throw new BadInputException(name + " line " + lineNumber + ": template \"" + r.template()
                            + "\", but line " + firstLine + " has \"" + first.template()
                            + "\"; a training file uses one template version");
                }
            }
            records.add(r);
        }
        if (records.isEmpty()) {
            throw new BadInputException(name + ": no sampled pairs (an empty file)");
        }
        return records;
    }
}
