package org.reflectrm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.Map;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.parquet.schema.Type;
import org.reflectrm.api.Mode;

/**
 * A partition's records as one Parquet file, with the fields of the JSON records ({@link
 * org.reflectrm.api.JudgmentJson}) as columns: nested objects are structs, arrays are lists.
 *
 * <p>Written on the executor with parquet-hadoop's writer, not with Spark's DataFrame writer: a
 * task has no SparkSession, and Spark's writer commits a whole job's output at once, while the job
 * resumes by partition, so each partition's file must be written and committed on its own (through
 * {@link org.reflectrm.model.safetensors.AtomicFiles}, as the JSONL parts are).
 *
 * <p>The schema is fixed by the judging options (mode, both orders), so every part file of a run
 * has the same one and {@code spark.read().parquet(folder)} reads them together. Every column is
 * nullable: a JSON null and an absent field (no label, no subset) are both null. A record field
 * the schema lacks, or of another type, is an error rather than a dropped column, so the schema
 * cannot silently fall behind the records.
 */
final class ParquetRecords {
    private ParquetRecords() {
    }

    /** The columns of one presentation order's fields, as JudgmentJson writes them. */
    private static String orderFields(boolean reflect) {
        String common = """
                optional binary order (STRING);
                optional binary verdict (STRING);
                optional binary status (STRING);
                optional binary mode (STRING);
                optional binary template_version (STRING);
                optional group rollouts (LIST) { repeated group list { optional group element {
                  optional binary analysis (STRING); optional binary verdict (STRING);
                  optional binary status (STRING); optional double confidence; } } }
                """;
        if (!reflect) {
            return common + "optional group stage_seconds { optional double rollouts; }\n";
        }
        return common + """
                optional group stage_seconds { optional double rollouts; optional double reflections; }
                optional int32 anchor;
                optional group reflections (LIST) { repeated group list { optional group element {
                  optional int32 rollout; optional boolean rollout_shown_first; optional binary analysis (STRING);
                  optional binary status (STRING); optional boolean rollout_won; } } }
                optional group winners (LIST) { repeated group list { optional int32 element; } }
                optional boolean anchor_voted;
                """;
    }

    /** The schema of the records judged with {@code spec}'s mode and orders. */
    static MessageType schema(JudgeSpec spec) {
        String order = orderFields(spec.options().mode() == Mode.REFLECT);
        // With both orders the record has the combined verdict and one entry per order; else one order's fields.
        String judgment = !spec.bothOrders() ? order : """
                optional binary verdict (STRING);
                optional binary status (STRING);
                optional binary mode (STRING);
                optional binary template_version (STRING);
                optional group orders (LIST) { repeated group list { optional group element {
                """ + order + "} } }\n";
        return MessageTypeParser.parseMessageType("message record {\n required binary id (STRING);\n" + judgment + """
                optional group timings { optional double seconds; }
                optional binary subset (STRING);
                optional binary placement (STRING);
                optional binary label (STRING);
                optional boolean correct;
                }
                """);
    }

    /** Writes {@code records} as a Parquet file onto {@code channel}, which stays open for its caller to close. */
    static void write(FileChannel channel, List<? extends JsonNode> records, MessageType schema) throws IOException {
        SimpleGroupFactory groups = new SimpleGroupFactory(schema);
        // PlainParquetConfiguration: no Hadoop configuration files to look up on the executor.
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(onto(channel)).withType(schema)
                .withConf(new PlainParquetConfiguration()).withCompressionCodec(CompressionCodecName.SNAPPY).build()) {
            for (JsonNode record : records) {
                Group row = groups.newGroup();
                fill(row, record, "");
                writer.write(row);
            }
        }
    }

    /** Sets {@code group}'s fields from the JSON object {@code json}; {@code path} names it in errors. */
    private static void fill(Group group, JsonNode json, String path) {
        GroupType type = group.getType();
        for (Map.Entry<String, JsonNode> field : json.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (!type.containsField(name)) {
                throw new IllegalStateException("record field " + path + name + " has no Parquet column");
            }
            if (value.isNull()) {
                continue;
            }
            Type column = type.getType(name);
            if (column.isPrimitive()) {
                add(group, name, value, column, path);
            } else if (column.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
                // The standard three-level list: <name> (LIST) { repeated group list { element } }.
                Group list = group.addGroup(name);
                Type element = column.asGroupType().getType("list").asGroupType().getType("element");
                for (JsonNode item : value) {
                    Group entry = list.addGroup("list");
                    if (item.isNull()) {
                        continue;
                    }
                    if (element.isPrimitive()) {
                        add(entry, "element", item, element, path + name + "[].");
                    } else {
                        fill(entry.addGroup("element"), item, path + name + "[].");
                    }
                }
            } else {
                fill(group.addGroup(name), value, path + name + ".");
            }
        }
    }

    private static void add(Group group, String name, JsonNode value, Type column, String path) {
        boolean fits = switch (column.asPrimitiveType().getPrimitiveTypeName()) {
            case BINARY -> value.isTextual();
            case INT32 -> value.canConvertToInt() && value.isIntegralNumber();
            case DOUBLE -> value.isNumber();
            case BOOLEAN -> value.isBoolean();
            default -> false;
        };
        if (!fits) {
            throw new IllegalStateException("record field " + path + name + " is " + value.getNodeType()
                    + ", not the Parquet column's " + column);
        }
        switch (column.asPrimitiveType().getPrimitiveTypeName()) {
            case BINARY -> group.add(name, value.asText());
            case INT32 -> group.add(name, value.intValue());
            case DOUBLE -> group.add(name, value.doubleValue());
            default -> group.add(name, value.booleanValue());
        }
    }

    /**
     * The channel as a Parquet output file. Closing the writer flushes but leaves the channel open:
     * AtomicFiles forces it to disk, closes it and renames the file into place.
     */
    private static OutputFile onto(FileChannel channel) {
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
        PositionOutputStream stream = new PositionOutputStream() {
            private long position;

            @Override
            public long getPos() {
                return position;
            }

            @Override
            public void write(int b) throws IOException {
                out.write(b);
                position++;
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                position += len;
            }

            @Override
            public void flush() throws IOException {
                out.flush();
            }

            @Override
            public void close() throws IOException {
                out.flush();
            }
        };
        return new OutputFile() {
            @Override
            public PositionOutputStream create(long blockSizeHint) {
                return stream;
            }

            @Override
            public PositionOutputStream createOrOverwrite(long blockSizeHint) {
                return stream;
            }

            @Override
            public boolean supportsBlockSize() {
                return false;
            }

            @Override
            public long defaultBlockSize() {
                return 0;
            }
        };
    }
}
