package org.reflectrm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * A row of pairs as the JSON line {@code judge --input} would read, so that rows (a DataFrame,
 * a Parquet file) and JSONL lines go through one parser with one set of error messages.
 */
final class RowJson {
    private RowJson() {
    }

    /**
     * The row's line: a null is an absent field (a column a row lacks, as when spark.read().json
     * merges shapes), a {@code messages} string holds the messages' JSON.
     */
    static String line(Row row, ObjectMapper mapper) throws BadRecord {
        try {
            JsonNode o = dropNulls(mapper.readTree(row.json()));
            JsonNode messages = o.get("messages");
            if (messages != null && messages.isTextual()) {
                ((ObjectNode) o).set("messages", dropNulls(mapper.readTree(messages.asText())));
            }
            return mapper.writeValueAsString(o);
        } catch (IOException e) {
            throw new BadRecord("\"messages\" is not JSON: " + e.getMessage());
        }
    }

    /** {@code node} without its null fields, at every depth. */
    static JsonNode dropNulls(JsonNode node) {
        if (node instanceof ObjectNode o) {
            List<String> nulls = new ArrayList<>();
            o.properties().forEach(e -> {
                if (e.getValue().isNull()) {
                    nulls.add(e.getKey());
                }
            });
            o.remove(nulls);
        }
        node.forEach(RowJson::dropNulls);
        return node;
    }
}
