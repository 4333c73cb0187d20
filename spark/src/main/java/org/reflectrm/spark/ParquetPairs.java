package org.reflectrm.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.SparkException;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.PairFile;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * A Parquet file, or a folder of them, as the job's input: read on the driver through Spark, each
 * row as the JSON line it would be in a JSONL file ({@link RowJson}), so that it is checked,
 * reported, numbered and cut into partitions exactly as a JSONL file's lines are. The rows are
 * numbered in a stable order, files by name and rows in file order, so that a rerun cuts them into
 * the same partitions (Spark's own read order is not: it packs files into splits by size).
 */
final class ParquetPairs implements PairFile.Lines {
    private final List<Row> rows;
    private final List<String> files;
    private final List<Long> rowInFile;
    private final ObjectMapper mapper = new ObjectMapper();

    private ParquetPairs(List<Row> rows, List<String> files, List<Long> rowInFile) {
        this.rows = rows;
        this.files = files;
        this.rowInFile = rowInFile;
    }

    static ParquetPairs read(SparkSession spark, Path input) {
        if (!Files.exists(input)) {
            throw new BadInputException("--input " + input + ": no such file or folder");
        }
        List<Row> read;
        try {
            Dataset<Row> table = spark.read().parquet(input.toString());
            // The pair's own columns as one struct (quoted: a column name may hold a dot), beside where the row is.
            Column[] columns = Arrays.stream(table.columns()).map(c -> col("`" + c.replace("`", "``") + "`"))
                    .toArray(Column[]::new);
            read = new ArrayList<>(table.select(col("_metadata.file_path"), col("_metadata.row_index"), struct(columns))
                    .collectAsList());
        } catch (Exception e) {
            if (e instanceof AnalysisException || e instanceof SparkException) {
                throw new BadInputException("--input " + input + ": cannot be read as Parquet: "
                        + e.getMessage().lines().findFirst().orElse(""));
            }
            throw e;
        }
        read.sort(Comparator.<Row, String>comparing(r -> r.getString(0)).thenComparingLong(r -> r.getLong(1)));
        List<Row> rows = new ArrayList<>(read.size());
        List<String> files = new ArrayList<>(read.size());
        List<Long> rowInFile = new ArrayList<>(read.size());
        for (Row r : read) {
            rows.add(r.getStruct(2));
            files.add(name(input, r.getString(0)));
            rowInFile.add(r.getLong(1) + 1);
        }
        return new ParquetPairs(rows, files, rowInFile);
    }

    /** The file as messages name it: the input itself, or its path under the input folder. */
    private static String name(Path input, String fileUri) {
        if (!Files.isDirectory(input)) {
            return input.toString();
        }
        URI uri = URI.create(fileUri);
        if (!"file".equals(uri.getScheme())) {
            return fileUri;
        }
        return input.resolve(input.toAbsolutePath().normalize().relativize(Path.of(uri))).toString();
    }

    @Override
    public int count() {
        return rows.size();
    }

    @Override
    public String text(int number) throws BadRecord {
        return RowJson.line(rows.get(number - 1), mapper);
    }

    @Override
    public String file(int number) {
        return files.get(number - 1);
    }

    @Override
    public String place(int number) {
        return "row " + rowInFile.get(number - 1);
    }

    /** The rows' content in order, one JSON object a line: what a rerun must see again to reuse part files. */
    byte[] content() {
        StringBuilder text = new StringBuilder();
        for (Row row : rows) {
            text.append(row.json()).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }
}
