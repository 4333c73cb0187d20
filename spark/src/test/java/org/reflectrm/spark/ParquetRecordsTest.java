package org.reflectrm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Mode;

/**
 * Parquet part files on records with every reflect field filled (the tiny random model never
 * parses a verdict, so the job tests see empty reflections and no anchor): read back by Spark,
 * they are the JSON records. A field without a column, or of another type, fails the write.
 */
class ParquetRecordsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** One order's fields, as JudgmentJson writes them in reflect mode. */
    private static final String ORDER = """
            {"order": "AB", "verdict": "B", "status": "ok", "mode": "reflect", "template_version": "v1",
             "rollouts": [{"analysis": "x", "verdict": "B", "status": "ok", "confidence": -0.5},
                          {"analysis": "y", "verdict": null, "status": "unparseable", "confidence": null}],
             "stage_seconds": {"rollouts": 1.5, "reflections": 0.25}, "anchor": 0,
             "reflections": [{"rollout": 1, "rollout_shown_first": true, "analysis": "z", "status": "ok", "rollout_won": false}],
             "winners": [0, 2], "anchor_voted": true}
            """;

    @TempDir
    Path tmp;

    @Test
    void reflectRecordsRoundTripInBothShapes() throws Exception {
        ObjectNode single = (ObjectNode) JSON.readTree(ORDER);
        single.put("id", "s1");
        single.putObject("timings").put("seconds", 2.0);
        single.put("label", "B");
        single.put("correct", true);
        ObjectNode both = (ObjectNode) JSON.readTree("""
                {"id": "b1", "verdict": "B", "status": "ok", "mode": "reflect", "template_version": "v1",
                 "timings": {"seconds": 3.0}, "subset": "hard", "placement": "chosen=B"}
                """);
        both.putArray("orders").add(JSON.readTree(ORDER)).add(JSON.readTree(ORDER).deepCopy());
        assertEquals(List.of(RowJson.dropNulls(single.deepCopy())), roundTrip(List.of(single), false));
        assertEquals(List.of(RowJson.dropNulls(both.deepCopy())), roundTrip(List.of(both), true));
    }

    @Test
    void aFieldTheSchemaLacksOrOfAnotherTypeFailsTheWrite() throws Exception {
        ObjectNode extra = (ObjectNode) JSON.readTree(ORDER);
        extra.put("id", "e1");
        ((ObjectNode) extra.get("reflections").get(0)).put("novel", 1);
        Exception e = assertThrows(IllegalStateException.class, () -> roundTrip(List.of(extra), false));
        assertTrue(e.getMessage().contains("reflections[].novel"), e.getMessage());
        ObjectNode typed = (ObjectNode) JSON.readTree(ORDER);
        typed.put("id", "t1");
        typed.put("anchor", "first");
        e = assertThrows(IllegalStateException.class, () -> roundTrip(List.of(typed), false));
        assertTrue(e.getMessage().contains("anchor"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("part-00000.parquet")), "nothing committed");
    }

    /** The records written as a reflect run's part file and read back by Spark, nulls dropped (as Parquet holds them). */
    private List<JsonNode> roundTrip(List<ObjectNode> records, boolean bothOrders) throws Exception {
        JudgeOptions reflect = JudgeOptions.defaults().withMode(Mode.REFLECT).withBothOrders(bothOrders);
        Path part = PartFiles.part(tmp, 0, Format.PARQUET);
        Files.deleteIfExists(part);
        PartFiles.write(part, Format.PARQUET, records, JudgeSpec.of("model", reflect, 1, 1), JSON);
        List<JsonNode> out = new ArrayList<>();
        for (Row row : LocalSpark.get().read().parquet(part.toString()).collectAsList()) {
            out.add(RowJson.dropNulls(JSON.readTree(row.json())));
        }
        return out;
    }
}
