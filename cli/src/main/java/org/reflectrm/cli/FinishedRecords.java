package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.model.train.data.JsonlLines;

/**
 * The records already in a resumable JSONL output (one whole record with an {@code id} per line,
 * flushed as each is complete), so a rerun can skip them: {@code judge --input} and
 * {@code data sample} resume this way.
 */
final class FinishedRecords {
    private FinishedRecords() {
    }

    /**
     * The complete records of {@code output} by id, in file order; empty when there is no file.
     * A line that is not a whole record (a crash mid-write tears the last one) is cut off, so the
     * file stays valid JSONL and the rerun appends after the last complete record.
     */
    static Map<String, JsonNode> read(Path output, ObjectMapper mapper) throws IOException {
        return read(output, mapper, n -> n.get("id").asText());
    }

    /** {@link #read(Path, ObjectMapper)} keyed by {@code key} (e.g. id and order, where an id has several records). */
    static Map<String, JsonNode> read(Path output, ObjectMapper mapper, java.util.function.Function<JsonNode, String> key)
            throws IOException {
        Map<String, JsonNode> records = new LinkedHashMap<>();
        if (!Files.isRegularFile(output)) {
            return records;
        }
        byte[] data = Files.readAllBytes(output);
        List<String> keep = new ArrayList<>();
        boolean torn = false;
        for (int[] l : JsonlLines.split(data)) {
            String line = new String(data, l[0], l[1] - l[0], StandardCharsets.UTF_8);
            try {
                JsonNode n = mapper.readTree(line);
                if (n != null && n.hasNonNull("id")) {
                    records.put(key.apply(n), n);
                    keep.add(line);
                    continue;
                }
            } catch (IOException e) {
                // falls through: not a complete record
            }
            torn = true;
        }
        if (torn) {
            Files.write(output, keep, StandardCharsets.UTF_8);
        }
        return records;
    }
}
