package org.reflectrm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.spark.JudgeJobTest.Run;

/**
 * The job with Parquet: a Parquet input judged as the JSONL file of the same pairs, Parquet part
 * files holding the JSONL records, bad rows, and the judging options a rerun must keep. (Resuming
 * a Parquet output after a crash is JudgeJobTest's crash test, run for both formats.)
 */
class ParquetJobTest {
    @TempDir
    static Path shared;
    static String tiny;
    static Path pairsJsonl;
    /** JudgeJobTest's pairs written by Spark as Parquet: two files of two rows, named in row order. */
    static Path pairsParquet;
    /** The job's records for the JSONL pairs into JSONL part files: what the Parquet variants must give. */
    static List<JsonNode> expected;

    @BeforeAll
    static void pairsAndTheirJsonlRecords() throws IOException {
        tiny = JudgeJobTest.tinyModel(shared);
        pairsJsonl = shared.resolve("pairs.jsonl");
        Files.writeString(pairsJsonl, JudgeJobTest.PAIRS);
        pairsParquet = shared.resolve("pairs-parquet");
        // One write task that starts a new file every 2 rows: part-00000-….c000 then ….c001, by name in row order.
        LocalSpark.get().read().json(pairsJsonl.toString()).coalesce(1).write().option("maxRecordsPerFile", 2)
                .parquet(pairsParquet.toString());
        Path out = shared.resolve("jsonl-out");
        Run r = JudgeJobTest.job(JudgeJobTest.args("--model", tiny, "--input", pairsJsonl.toString(), "--output",
                out.toString(), "--partitions", "2"));
        assertEquals(0, r.code(), r.err());
        expected = JudgeJobTest.records(out);
        assertEquals(List.of("p1", "p2", "jb-1", "p4"), JudgeJobTest.ids(expected));
    }

    /** Rows read as the JSON lines they would be, in file-name then row order: the JSONL input's records exactly. */
    @Test
    void parquetInputGivesTheJsonlInputsRecords() throws IOException {
        assertEquals(2, parquetFiles(pairsParquet).size(), "the rows span two files");
        Path out = shared.resolve("parquet-in");
        Run r = JudgeJobTest.job(JudgeJobTest.args("--model", tiny, "--input", pairsParquet.toString(), "--output",
                out.toString(), "--partitions", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("judged 4 pairs") && r.err().contains("0 malformed rows skipped"), r.err());
        assertEquals(expected, JudgeJobTest.records(out));
    }

    /**
     * Parquet part files hold the JSONL records (a null and an absent field alike); a rerun finds
     * them committed; a rerun that would write JSONL parts instead, or judge with other options,
     * is refused, the latter naming the option, unless --force.
     */
    @Test
    void parquetOutputHoldsTheJsonlRecordsAndKeepsItsOptions() throws IOException {
        Path out = shared.resolve("parquet-out");
        List<String> run = JudgeJobTest.args("--model", tiny, "--input", pairsJsonl.toString(), "--output",
                out.toString(), "--partitions", "2", "--output-format", "parquet");
        Run r = JudgeJobTest.job(run);
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of(PartFiles.part(out, 0, Format.PARQUET), PartFiles.part(out, 1, Format.PARQUET)),
                JudgeJobTest.partFiles(out));
        List<JsonNode> written = JudgeJobTest.records(out);
        assertEquals(JudgeJobTest.withoutNulls(expected), written);
        assertEquals(3, written.getFirst().get("orders").get(1).get("rollouts").size(), "lists of structs in a list");
        assertEquals(4, LocalSpark.get().read().parquet(out.toString()).count(), "the folder reads as one table");
        assertEquals("reflect", new ObjectMapper().readTree(out.resolve(PartFiles.MANIFEST).toFile())
                .get("options").get("mode").asText());

        Run again = JudgeJobTest.job(run);
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("judged 0 pairs") && again.err().contains("2 partitions already in"), again.err());

        List<String> asJsonl = new ArrayList<>(run);
        asJsonl.set(asJsonl.indexOf("parquet"), "jsonl");
        Run jsonl = JudgeJobTest.job(asJsonl);
        assertEquals(2, jsonl.code(), jsonl.err());
        assertTrue(jsonl.err().contains("part files of another run") && jsonl.err().contains("parquet parts"), jsonl.err());

        List<String> otherSeed = new ArrayList<>(run);
        otherSeed.set(otherSeed.indexOf("--seed") + 1, "6");
        Run refused = JudgeJobTest.job(otherSeed);
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().contains("other judging options (seed was 5, now 6)") && refused.err().contains("--force"),
                refused.err());
        List<String> otherMode = new ArrayList<>(run);
        otherMode.set(otherMode.indexOf("reflect"), "vote");
        Run mode = JudgeJobTest.job(otherMode);
        assertEquals(2, mode.code(), mode.err());
        assertTrue(mode.err().contains("mode was \"reflect\", now \"vote\""), mode.err());

        otherSeed.add("--force");
        Run forced = JudgeJobTest.job(otherSeed);
        assertEquals(0, forced.code(), forced.err());
        assertTrue(forced.err().contains("seed was 5, now 6") && forced.err().contains("resuming anyway (--force)")
                && forced.err().contains("judged 0 pairs"), forced.err());
        assertEquals(written, JudgeJobTest.records(out), "nothing rewritten");
    }

    /**
     * A bad row is reported with its file and row, as a bad JSONL line with its number; the rest
     * is judged; exit 2. A repeated id, or an input that is not Parquet, exits 2 before judging.
     */
    @Test
    void badRowsAreReportedWithTheirFileAndRow() throws IOException {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("messages", DataTypes.StringType).add("response_a", DataTypes.StringType)
                .add("response_b", DataTypes.StringType);
        Path input = shared.resolve("bad-parquet");
        LocalSpark.get().createDataFrame(List.of(
                RowFactory.create("g1", "q", null, "x", "y"),
                RowFactory.create("no-b", "q", null, "x", null),
                RowFactory.create("object", null, "{\"role\": \"user\", \"content\": \"q\"}", "x", "y"),
                RowFactory.create("g2", "q", null, "u", "v")), schema)
                .coalesce(1).write().option("maxRecordsPerFile", 2).parquet(input.toString());
        List<Path> files = parquetFiles(input);
        assertEquals(2, files.size());
        Path out = shared.resolve("bad-parquet-out");
        Run r = JudgeJobTest.job(List.of("--model", tiny, "--input", input.toString(), "--output", out.toString(),
                "--partitions", "2", "--mode", "greedy", "--max-new-tokens", "4", "--threads", "2"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("reflectrm-j: " + files.get(0) + " row 2: has no \"response_b\" (skipped)"), r.err());
        assertTrue(r.err().contains("reflectrm-j: " + files.get(1) + " row 1: \"messages\" must be a list"), r.err());
        assertTrue(r.err().contains("2 of 4 rows skipped as bad") && r.err().contains("judged 2 pairs")
                && r.err().contains("2 malformed rows skipped"), r.err());
        assertEquals(List.of("g1", "g2"), JudgeJobTest.ids(JudgeJobTest.records(out)));

        // An id again in another file: the first one is named by its file and row.
        Path twice = shared.resolve("twice-parquet");
        LocalSpark.get().createDataFrame(List.of(RowFactory.create("d", "q", null, "x", "y"),
                RowFactory.create("d", "r", null, "x", "y")), schema)
                .coalesce(1).write().option("maxRecordsPerFile", 1).parquet(twice.toString());
        List<Path> twiceFiles = parquetFiles(twice);
        Run dupes = JudgeJobTest.job(List.of("--model", tiny, "--input", twice.toString(), "--output",
                shared.resolve("never").toString()));
        assertEquals(2, dupes.code(), dupes.err());
        assertTrue(dupes.err().contains(twiceFiles.get(1) + " row 1: pair id \"d\" again (first on " + twiceFiles.get(0)
                + " row 1)"), dupes.err());

        Run notParquet = JudgeJobTest.job(List.of("--model", tiny, "--input", pairsJsonl.toString(), "--input-format",
                "parquet", "--output", shared.resolve("never").toString()));
        assertEquals(2, notParquet.code(), notParquet.err());
        assertTrue(notParquet.err().contains("cannot be read as Parquet"), notParquet.err());
        assertFalse(Files.exists(shared.resolve("never")));
    }

    /** The Parquet files Spark wrote into {@code dir}, by name. */
    private static List<Path> parquetFiles(Path dir) throws IOException {
        Pattern data = Pattern.compile("part-.*\\.parquet");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> data.matcher(f.getFileName().toString()).matches()).sorted().toList();
        }
    }
}
