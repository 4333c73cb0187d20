package org.reflectrm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Mode;
import org.reflectrm.cli.Main;

/**
 * The Spark job and SparkJudge in local[2] on a tiny random checkpoint, against {@code reflectrm-j
 * judge --input} run in the same JVM: the same records, resuming by partition, bad lines.
 */
class JudgeJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static String tiny;
    /** Every input shape judge reads: the project's (labelled), chosen/rejected, JudgeBench, messages. */
    static Path pairs;
    /** Judge options both the job and the command line get: reflect's both stages, both orders, batches of 2. */
    static final List<String> JUDGING = List.of("--mode", "reflect", "--rollouts", "3", "--max-new-tokens", "6",
            "--seed", "5", "--both-orders", "--batch-pairs", "2", "--threads", "2");

    /** The lines of {@link #pairs}. */
    static final String PAIRS = String.join("\n",
            "{\"id\": \"p1\", \"prompt\": \"2+2?\", \"response_a\": \"4\", \"response_b\": \"5\", \"label\": \"A\"}",
            "{\"id\": \"p2\", \"prompt\": \"Name a colour.\", \"chosen\": \"red\", \"rejected\": \"seven\", \"subset\": \"easy\"}",
            "{\"pair_id\": \"jb-1\", \"question\": \"q\", \"response_A\": \"a\", \"response_B\": \"b\", \"label\": \"B>A\", \"source\": \"mmlu\"}",
            "{\"id\": \"p4\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"3+3?\"}], "
                    + "\"response_a\": \"6\", \"response_b\": \"9\"}",
            "");

    @BeforeAll
    static void tinyModelAndPairs() throws IOException {
        tiny = tinyModel(shared);
        pairs = shared.resolve("pairs.jsonl");
        Files.writeString(pairs, PAIRS);
        LocalSpark.get();
    }

    /** Makes the tiny random checkpoint in {@code dir}; returns its folder. */
    static String tinyModel(Path dir) {
        String tiny = dir.resolve("tiny").toString();
        assertEquals(0, Main.run(new String[] {"init", "--preset", "tiny", "--seed", "2", "--out", tiny},
                new PrintWriter(Writer.nullWriter()), new PrintWriter(Writer.nullWriter())));
        return tiny;
    }

    record Run(int code, String err) {
    }

    static Run job(List<String> args) {
        StringWriter err = new StringWriter();
        int code = JudgeJob.run(args.toArray(String[]::new), LocalSpark::get, new PrintWriter(err));
        return new Run(code, err.toString());
    }

    static Run cli(List<String> args) {
        StringWriter err = new StringWriter();
        int code = Main.run(args.toArray(String[]::new), new PrintWriter(Writer.nullWriter()), new PrintWriter(err));
        return new Run(code, err.toString());
    }

    static List<String> args(String... first) {
        List<String> a = new ArrayList<>(Arrays.asList(first));
        a.addAll(JUDGING);
        return a;
    }

    /**
     * The records of a JSONL file, or of a job's part files (JSONL or Parquet, each Parquet row as
     * JSON without its nulls) in partition order, wall-clock fields removed.
     */
    static List<JsonNode> records(Path fileOrFolder) throws IOException {
        List<Path> files = Files.isDirectory(fileOrFolder) ? partFiles(fileOrFolder) : List.of(fileOrFolder);
        List<JsonNode> out = new ArrayList<>();
        for (Path f : files) {
            if (f.toString().endsWith(".parquet")) {
                // One small file is one split, read in its row order.
                for (Row row : LocalSpark.get().read().parquet(f.toString()).collectAsList()) {
                    out.add(withoutTimes(RowJson.dropNulls(JSON.readTree(row.json()))));
                }
            } else {
                for (String line : Files.readAllLines(f)) {
                    out.add(withoutTimes(JSON.readTree(line)));
                }
            }
        }
        return out;
    }

    /** The records without null fields: a Parquet part file holds a JSON null and an absent field both as null. */
    static List<JsonNode> withoutNulls(List<JsonNode> records) {
        return records.stream().map(r -> RowJson.dropNulls(r.deepCopy())).toList();
    }

    static JsonNode withoutTimes(JsonNode node) {
        if (node instanceof ObjectNode o) {
            o.remove(List.of("timings", "stage_seconds"));
        }
        node.forEach(JudgeJobTest::withoutTimes);
        return node;
    }

    static List<String> ids(List<JsonNode> records) {
        return records.stream().map(r -> r.get("id").asText()).toList();
    }

    /**
     * 4 pairs in 2 partitions with batches of 2: the same batches the command line forms, so the
     * records agree exactly (timings aside), not only up to float rounding.
     */
    @Test
    void recordsAreTheCommandLinesAcrossPartitions() throws IOException {
        Path cliOut = shared.resolve("cli.jsonl");
        Run c = cli(args("judge", "--model", tiny, "--input", pairs.toString(), "--output", cliOut.toString()));
        assertEquals(0, c.code(), c.err());
        Path jobOut = shared.resolve("job-out");
        Run j = job(args("--model", tiny, "--input", pairs.toString(), "--output", jobOut.toString(), "--partitions", "2"));
        assertEquals(0, j.code(), j.err());
        assertTrue(j.err().contains("judged 4 pairs") && j.err().contains("2 of 2 partitions"), j.err());
        assertTrue(Files.exists(PartFiles.part(jobOut, 0, Format.JSONL)) && Files.exists(PartFiles.part(jobOut, 1, Format.JSONL)));
        List<JsonNode> expected = records(cliOut);
        assertEquals(List.of("p1", "p2", "jb-1", "p4"), ids(expected));
        assertEquals(expected, records(jobOut));
        assertEquals(2, Files.readAllLines(PartFiles.part(jobOut, 1, Format.JSONL)).size(), "partition 1 holds lines 3 and 4");

        // Nothing left to do: a rerun (its partitions taken from the run it resumes) judges nothing and changes nothing.
        Run again = job(args("--model", tiny, "--input", pairs.toString(), "--output", jobOut.toString()));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("judged 0 pairs") && again.err().contains("2 partitions already in"), again.err());
        assertEquals(expected, records(jobOut));

        // The same folder cut another way would judge pairs twice: refused.
        Run other = job(args("--model", tiny, "--input", pairs.toString(), "--output", jobOut.toString(), "--partitions", "3"));
        assertEquals(2, other.code(), other.err());
        assertTrue(other.err().contains("part files of another run"), other.err());
    }

    /**
     * What this simulates: the job failing right after a partition's part file was committed
     * (a hook throws in the task, so Spark aborts the job while other partitions are unfinished),
     * plus the temporary file a kill in the middle of a commit would leave. It does not SIGKILL a
     * JVM; that case rests on the part file being renamed into place whole, which is what a rerun
     * checks for. After the rerun every pair is there exactly once, with JSONL and with Parquet part files.
     */
    @ParameterizedTest
    @EnumSource(Format.class)
    void aCrashBetweenPartitionsResumesWithEveryIdOnce(Format format) throws Exception {
        Path input = shared.resolve("six.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            lines.add("{\"id\": \"q" + i + "\", \"prompt\": \"" + i + "+1?\", \"response_a\": \"" + (i + 1)
                    + "\", \"response_b\": \"" + i + "\"}");
        }
        Files.write(input, lines);
        Path out = shared.resolve("crash-out-" + format.extension());
        List<String> run = List.of("--model", tiny, "--input", input.toString(), "--output", out.toString(),
                "--output-format", format.extension(), "--partitions", "3", "--batch-pairs", "2", "--mode", "greedy", "--max-new-tokens", "4", "--threads", "2");
        JudgeJob.afterCommit = p -> {
            throw new IllegalStateException("simulated crash after partition " + p + " was committed");
        };
        Run crashed;
        try {
            crashed = job(run);
        } finally {
            JudgeJob.afterCommit = null;
        }
        assertEquals(1, crashed.code(), crashed.err());
        assertTrue(crashed.err().contains("simulated crash"), crashed.err());
        awaitNoRunningTasks();
        long committed = partFiles(out).size();
        assertTrue(committed >= 1 && committed < 3, "committed " + committed);
        Files.writeString(out.resolve(".part-00002." + format.extension() + ".0123456789abcdef.tmp"), "{\"id\": \"q5\", \"tor");

        Run resumed = job(run);
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains(committed + " partitions already in"), resumed.err());
        List<String> ids = ids(records(out));
        assertEquals(List.of("q1", "q2", "q3", "q4", "q5", "q6"), ids, "every pair once, in input order");
        assertEquals(3, partFiles(out).size());
        assertTrue(partFiles(out).stream().allMatch(f -> f.toString().endsWith("." + format.extension())), out::toString);
    }

    /** A killed task may still be finishing when a failed job returns; wait so the rerun starts clean. */
    static void awaitNoRunningTasks() throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            if (Arrays.stream(LocalSpark.get().sparkContext().statusTracker().getExecutorInfos())
                    .mapToInt(e -> e.numRunningTasks()).sum() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("tasks still running after 30 s");
    }

    /** The part files in {@code out}, in partition order. */
    static List<Path> partFiles(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(f -> f.getFileName().toString().matches("part-\\d+\\.(jsonl|parquet)")).sorted().toList();
        }
    }

    /** Bad lines: reported with their numbers in the command line's words, the rest judged, then exit 2. */
    @Test
    void badLinesAreReportedAsTheCommandLineReportsThem() throws IOException {
        Path input = shared.resolve("bad.jsonl");
        Files.write(input, List.of(
                "{\"id\": \"g1\", \"prompt\": \"q\", \"response_a\": \"x\", \"response_b\": \"y\"}",
                "{\"id\": \"broken\", \"prompt\": \"q\", \"response_a\": \"x\"}",
                "not json",
                "",
                "{\"id\": \"g2\", \"prompt\": \"q\", \"response_a\": \"u\", \"response_b\": \"v\"}"));
        List<String> judging = List.of("--mode", "greedy", "--max-new-tokens", "4", "--threads", "2");
        List<String> cliArgs = new ArrayList<>(List.of("judge", "--model", tiny, "--input", input.toString(), "--output",
                shared.resolve("bad-cli.jsonl").toString()));
        cliArgs.addAll(judging);
        Run c = cli(cliArgs);
        Path out = shared.resolve("bad-out");
        List<String> jobArgs = new ArrayList<>(List.of("--model", tiny, "--input", input.toString(), "--output",
                out.toString(), "--partitions", "2"));
        jobArgs.addAll(judging);
        Run j = job(jobArgs);
        assertEquals(2, c.code(), c.err());
        assertEquals(2, j.code(), j.err());
        assertEquals(reports(c.err()), reports(j.err()));
        assertEquals(3, reports(j.err()).size(), j.err());
        assertTrue(j.err().contains("line 2: has no \"response_b\" (skipped)") && j.err().contains("line 3:")
                && j.err().contains("2 of 4 lines skipped as bad") && j.err().contains("judged 2 pairs")
                && j.err().contains("2 malformed lines skipped"), j.err());
        assertEquals(List.of("g1", "g2"), ids(records(out)));
        assertEquals(ids(records(shared.resolve("bad-cli.jsonl"))), ids(records(out)));
    }

    /**
     * {@code --kv-cache bf16} reaches the executors' judge: the records are the command line's
     * with the same option, and a rerun without it is refused, naming the option.
     */
    @Test
    void aBf16KvCacheJudgesAsTheCommandLineAndARerunMustKeepIt() throws IOException {
        List<String> judging = List.of("--mode", "greedy", "--max-new-tokens", "8", "--kv-cache", "bf16");
        List<String> cliArgs = new ArrayList<>(List.of("judge", "--model", tiny, "--input", pairs.toString(), "--output",
                shared.resolve("bf16-cli.jsonl").toString()));
        cliArgs.addAll(judging);
        Run c = cli(cliArgs);
        assertEquals(0, c.code(), c.err());
        Path out = shared.resolve("bf16-out");
        List<String> jobArgs = new ArrayList<>(List.of("--model", tiny, "--input", pairs.toString(), "--output",
                out.toString(), "--partitions", "2"));
        jobArgs.addAll(judging);
        Run j = job(jobArgs);
        assertEquals(0, j.code(), j.err());
        assertEquals(records(shared.resolve("bf16-cli.jsonl")), records(out));
        Run f32 = job(List.of("--model", tiny, "--input", pairs.toString(), "--output", out.toString(), "--mode", "greedy",
                "--max-new-tokens", "8"));
        assertEquals(2, f32.code(), f32.err());
        assertTrue(f32.err().contains("kv_cache was \"BF16\", now unset"), f32.err());
        Run bad = job(List.of("--model", tiny, "--input", pairs.toString(), "--output", shared.resolve("never-kv").toString(),
                "--kv-cache", "f16"));
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--kv-cache must be f32 or bf16, got f16"), bad.err());
    }

    /** The lines that report skipped input: each bad line, and the closing count. */
    private static List<String> reports(String err) {
        return err.lines().filter(l -> l.endsWith("(skipped)") || l.contains("skipped as bad")).toList();
    }

    @Test
    void badOptionsAndRepeatedIdsExitTwoBeforeJudging() throws IOException {
        Path out = shared.resolve("never");
        String in = pairs.toString();
        for (List<String> bad : List.of(
                List.of("--input", in, "--output", out.toString()),
                List.of("--model", tiny, "--input", in, "--output", out.toString(), "--mode", "best"),
                List.of("--model", tiny, "--input", in, "--output", out.toString(), "--partitions", "0"),
                List.of("--model", tiny, "--input", in, "--output", out.toString(), "--batch-pairs", "0"),
                List.of("--model", tiny, "--input", in, "--output", out.toString(), "--rollouts", "many"),
                List.of("--model", tiny, "--input", shared.resolve("nope.jsonl").toString(), "--output", out.toString()),
                List.of("--model", tiny, "--input", in, "--output", in))) {
            Run r = job(bad);
            assertEquals(2, r.code(), bad + ": " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        assertTrue(job(List.of("--input", in, "--output", out.toString())).err().contains("--model"));
        assertTrue(job(List.of("--model", tiny, "--input", in, "--output", out.toString(), "--mode", "best")).err()
                .contains("--mode must be greedy, vote or reflect"));
        // A model folder that is not there fails in the executors' first task: bad input all the same, and nothing committed.
        Path noModelOut = shared.resolve("no-model-out");
        Run noModel = job(List.of("--model", shared.resolve("no-such-model").toString(), "--input", in, "--output",
                noModelOut.toString(), "--mode", "greedy"));
        assertEquals(2, noModel.code(), noModel.err());
        assertTrue(noModel.err().contains("no-such-model"), noModel.err());
        assertTrue(partFiles(noModelOut).isEmpty());
        Path dupes = shared.resolve("dupes.jsonl");
        Files.write(dupes, List.of("{\"id\": \"d\", \"prompt\": \"q\", \"response_a\": \"x\", \"response_b\": \"y\"}",
                "{\"id\": \"d\", \"prompt\": \"r\", \"response_a\": \"x\", \"response_b\": \"y\"}"));
        Run r = job(List.of("--model", tiny, "--input", dupes.toString(), "--output", out.toString()));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("\"d\" again (first on line 1)") && r.err().contains("--dedupe"), r.err());
        assertFalse(Files.exists(out), "nothing written");
    }

    /**
     * SparkJudge on a DataFrame of the same pairs (read by Spark's JSON reader, which merges the
     * shapes' columns): the job's records, and the verdict and status columns are the record's.
     * One partition in batches of 2 forms the job's batches, so the records agree exactly.
     */
    @Test
    void datasetApiGivesTheJobsRecords() throws IOException {
        Path jobOut = shared.resolve("ds-job-out");
        Run j = job(args("--model", tiny, "--input", pairs.toString(), "--output", jobOut.toString(), "--partitions", "2"));
        assertEquals(0, j.code(), j.err());
        JudgeOptions options = new JudgeOptions(Mode.REFLECT, 3, 1.0, 0.1, 5, 6, true);
        Dataset<Row> input = LocalSpark.get().read().json(pairs.toString()).coalesce(1);
        List<Row> rows = SparkJudge.judge(input, JudgeSpec.of(tiny, options, 2, 2)).collectAsList();
        List<JsonNode> records = new ArrayList<>();
        for (Row row : rows) {
            assertTrue(row.isNullAt(4), () -> row.getString(0) + ": " + row.getString(4));
            JsonNode record = JSON.readTree(row.getString(row.fieldIndex("record")));
            assertEquals(record.get("id").asText(), row.getString(0));
            assertEquals(record.get("verdict").isNull() ? null : record.get("verdict").asText(), row.getString(1));
            assertEquals(record.get("status").asText(), row.getString(2));
            records.add(withoutTimes(record));
        }
        assertEquals(records(jobOut), records);
    }

    /** A row that is not a pair is answered as such; the others are judged; messages may be a JSON string. */
    @Test
    void datasetApiAnswersBadRowsWithoutFailing() {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("messages", DataTypes.StringType)
                .add("response_a", DataTypes.StringType).add("response_b", DataTypes.StringType);
        List<Row> in = List.of(
                RowFactory.create("m1", "[{\"role\": \"user\", \"content\": \"2+2?\"}]", "4", "5"),
                RowFactory.create("m2", "[{\"role\": \"user\", \"content\": \"q\"}]", "x", null),
                RowFactory.create("m3", "not json", "x", "y"),
                RowFactory.create(null, "[{\"role\": \"user\", \"content\": \"q\"}]", "x", "y"),
                RowFactory.create("m5", "[{\"role\": \"user\", \"content\": \"3+3?\"}]", "6", "7"));
        Dataset<Row> df = LocalSpark.get().createDataFrame(in, schema);
        JudgeOptions greedy = JudgeOptions.defaults().withMode(Mode.GREEDY).withMaxNewTokens(4);
        List<Row> out = SparkJudge.judge(df, tiny, greedy, 2).collectAsList();
        assertEquals(5, out.size());
        assertEquals(Arrays.asList("m1", "m2", "m3", null, "m5"), out.stream().map(r -> r.getString(0)).toList());
        assertEquals(List.of("ok", "bad_input", "bad_input", "bad_input", "ok"), out.stream()
                .map(r -> r.getString(2).equals("unparseable") ? "ok" : r.getString(2)).toList());
        assertTrue(out.get(1).getString(4).contains("response_b"), out.get(1).getString(4));
        assertTrue(out.get(3).getString(4).contains("\"id\""), out.get(3).getString(4));
        assertFalse(out.get(0).isNullAt(3));
        assertTrue(out.get(1).isNullAt(3));
    }

    /**
     * The model shipped as an archive (spark-submit --archives, here SparkContext.addArchive): a
     * relative model name that is no folder where the task runs is looked up in SparkFiles.
     */
    @Test
    void aModelShippedAsAnArchiveIsFoundBySparkFiles() throws IOException {
        Path zip = shared.resolve("tiny-judge.zip");
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip));
             Stream<Path> files = Files.list(Path.of(tiny))) {
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new java.util.zip.ZipEntry(f.getFileName().toString()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        LocalSpark.get().sparkContext().addArchive(zip.toUri() + "#shipped-judge");
        assertFalse(Files.exists(Path.of("shipped-judge")), "not in the working folder");
        StructType schema = new StructType().add("id", DataTypes.StringType).add("prompt", DataTypes.StringType)
                .add("response_a", DataTypes.StringType).add("response_b", DataTypes.StringType);
        Dataset<Row> df = LocalSpark.get().createDataFrame(List.of(RowFactory.create("s1", "2+2?", "4", "5")), schema);
        JudgeOptions greedy = JudgeOptions.defaults().withMode(Mode.GREEDY).withMaxNewTokens(4);
        Row row = SparkJudge.judge(df, "shipped-judge", greedy, 1).collectAsList().getFirst();
        assertTrue(row.isNullAt(4), row.getString(4));
        assertEquals("s1", row.getString(0));
    }
}
