package org.reflectrm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * Judging inside a Spark pipeline: a {@code Dataset<Row>} of pairs in, one row per pair out, in
 * the input's order within each partition.
 *
 * <pre>{@code
 * Dataset<Row> pairs = spark.read().json("pairs.jsonl");   // id, prompt, response_a, response_b
 * Dataset<Row> judged = SparkJudge.judge(pairs, "/shared/models/judge", JudgeOptions.defaults(), 4);
 * judged.select("id", "verdict").show();
 * }</pre>
 *
 * <p>Input columns: {@code id} (a string or an integer; required), {@code prompt}, or
 * {@code messages} as a JSON string or an array of {role, content} structs, and
 * {@code response_a}, {@code response_b}; optional {@code label} ("A"/"B") and {@code subset}.
 * Any row shape {@code judge --input} reads works (chosen/rejected, JudgeBench): a row is read as
 * the JSON line it would be. Output columns: {@code id}, {@code verdict} ("A", "B" or null),
 * {@code status} (ok, unparseable, inconsistent, or {@code bad_input} for a row that is not a
 * pair), {@code record} (the JSON record {@code judge --input} writes for the pair; null for a bad
 * row) and {@code error} (why a row is bad; null otherwise). A bad row does not fail the job.
 */
public final class SparkJudge {
    /** The output's columns. */
    public static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType)
            .add("verdict", DataTypes.StringType)
            .add("status", DataTypes.StringType)
            .add("record", DataTypes.StringType)
            .add("error", DataTypes.StringType);

    private SparkJudge() {
    }

    /** Judges every row with the model at {@code modelDir} (a path every executor can read), all cores per executor. */
    public static Dataset<Row> judge(Dataset<Row> pairs, String modelDir, JudgeOptions options, int batchPairs) {
        return judge(pairs, JudgeSpec.of(modelDir, options, batchPairs, null));
    }

    /** Judges every row as {@code spec} says (device, threads, templates too). */
    public static Dataset<Row> judge(Dataset<Row> pairs, JudgeSpec spec) {
        // Checked here, on the driver, rather than as one bad row after another on the executors.
        List<String> columns = List.of(pairs.columns());
        if (!columns.contains("id") && !columns.contains("pair_id")) {
            throw new IllegalArgumentException("pairs need an \"id\" column (each pair is seeded by it); they have " + columns);
        }
        MapPartitionsFunction<Row, Row> judgeRows = rows -> judgePartition(spec, rows);
        return pairs.mapPartitions(judgeRows, Encoders.row(SCHEMA));
    }

    private static Iterator<Row> judgePartition(JudgeSpec spec, Iterator<Row> rows) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        JudgeOptions options = spec.options();
        ReflectRM rm = null;
        List<Row> out = new ArrayList<>();
        List<PairRecord> batch = new ArrayList<>();
        int index = 0;
        // Partitions are judged whole before their rows are handed on: batches need the rows ahead anyway,
        // and a partition's rows are small next to its judging time.
        while (rows.hasNext()) {
            Row row = rows.next();
            index++;
            PairRecord pair;
            try {
                pair = PairRecord.parse(RowJson.line(row, mapper), index, spec.seed());
                if (idOf(row) == null) {
                    throw new BadRecord("has no \"id\" (rows are seeded and matched by it)");
                }
            } catch (BadRecord | IllegalArgumentException e) {
                out.add(RowFactory.create(idOf(row), null, "bad_input", null, e.getMessage()));
                continue;
            }
            // Bad rows are answered at once; the good ones keep their order among themselves and with them.
            batch.add(pair);
            out.add(null);
            if (batch.size() == spec.batchPairs()) {
                rm = rm != null ? rm : Judges.of(JudgeJob.executorSpec(spec));
                fill(out, PairBatches.judge(rm, options, batch, mapper), mapper);
                batch.clear();
            }
        }
        if (!batch.isEmpty()) {
            rm = rm != null ? rm : Judges.of(JudgeJob.executorSpec(spec));
            fill(out, PairBatches.judge(rm, options, batch, mapper), mapper);
        }
        return out.iterator();
    }

    /** Puts the batch's rows into the first empty places, which are the batch's in order. */
    private static void fill(List<Row> out, List<ObjectNode> records, ObjectMapper mapper) throws IOException {
        int r = 0;
        for (int i = 0; i < out.size() && r < records.size(); i++) {
            if (out.get(i) == null) {
                ObjectNode record = records.get(r++);
                JsonNode verdict = record.get("verdict");
                out.set(i, RowFactory.create(record.get("id").asText(), verdict.isNull() ? null : verdict.asText(),
                        record.get("status").asText(), mapper.writeValueAsString(record), null));
            }
        }
    }

    /** The row's id as judge --input finds it: {@code id}, else {@code pair_id} (JudgeBench); null if neither. */
    private static String idOf(Row row) {
        List<String> names = List.of(row.schema().fieldNames());
        for (String field : List.of("id", "pair_id")) {
            if (names.contains(field) && !row.isNullAt(row.fieldIndex(field))) {
                return row.get(row.fieldIndex(field)).toString();
            }
        }
        return null;
    }
}
