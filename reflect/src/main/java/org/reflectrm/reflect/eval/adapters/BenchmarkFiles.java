package org.reflectrm.reflect.eval.adapters;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.JsonlLines;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.reflect.eval.Comparison;

/**
 * Reads a benchmark file into {@link Comparison}s. The file is JSONL (one record a line; blank
 * lines are skipped) or one JSON array of records (RM-Bench and RMB ship arrays; any benchmark may
 * come as one). The benchmark is named, or detected from the first record's fields.
 *
 * <p>Nothing is skipped silently, since that would change a benchmark's denominators: a malformed
 * record, an unknown schema or a repeated comparison id is a {@link BadInputException} naming the
 * file and the line (JSONL) or the array index and the line it starts on. The only records left
 * out are the ones a benchmark's pairwise reading has no answer for (PPE and HelpSteer3 ties,
 * RewardBench 2's Ties subset), and they are counted in {@link Loaded#dropped()}.
 */
public final class BenchmarkFiles {
    private BenchmarkFiles() {
    }

    /**
     * A read file.
     *
     * @param benchmark   the benchmark's id ({@link Benchmark#id()}), named or detected
     * @param comparisons every comparison, in file order (a record's comparisons in their own order)
     * @param dropped     records left out, by reason ("tie", "RewardBench 2 Ties subset"), in the order first seen;
     *                    empty when none
     */
    public record Loaded(String benchmark, List<Comparison> comparisons, Map<String, Integer> dropped) {
        public Loaded {
            comparisons = List.copyOf(comparisons);
            dropped = Collections.unmodifiableMap(new LinkedHashMap<>(dropped));
        }
    }

    /**
     * Reads {@code file} as benchmark {@code benchmarkOrNull} (an id of {@link Benchmark}), or as
     * the benchmark its first record's fields identify when null. {@code seed} drives the coin
     * that places chosen responses as A or B, per comparison id.
     *
     * @throws BadInputException for an unreadable file, an unknown benchmark id or schema, a malformed
     *                           record, a repeated id, or a file without comparisons
     */
    public static Loaded read(Path file, String benchmarkOrNull, long seed) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read it: " + e.getMessage(), e);
        }
        return read(data, file.toString(), benchmarkOrNull, seed);
    }

    /** {@link #read(Path, String, long)} on bytes already read; {@code name} is the file's path, for messages. */
    public static Loaded read(byte[] data, String name, String benchmarkOrNull, long seed) {
        Benchmark named = benchmarkOrNull == null ? null : Benchmark.byId(benchmarkOrNull);
        Reader reader = new Reader(name, named, seed);
        if (isArray(data)) {
            reader.readArray(data);
        } else {
            reader.readLines(data);
        }
        return reader.finish();
    }

    /** Whether the first character (after a byte-order mark and white space) opens a JSON array. */
    static boolean isArray(byte[] data) {
        int i = data.length >= 3 && (data[0] & 0xff) == 0xEF && (data[1] & 0xff) == 0xBB && (data[2] & 0xff) == 0xBF ? 3 : 0;
        while (i < data.length && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) {
            i++;
        }
        return i < data.length && data[i] == '[';
    }

    /** One array element as a tree (the elements after it are not "trailing tokens"). */
    private static final ObjectReader ELEMENT = SftRecordParser.MAPPER.reader()
            .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final class Reader {
        private final String name;
        private final String fileName;
        private final long seed;
        private Benchmark benchmark;
        private int records;
        private final List<Comparison> comparisons = new ArrayList<>();
        private final Map<String, String> whereOfId = new HashMap<>();
        private final Map<String, Integer> dropped = new LinkedHashMap<>();
        private final Map<String, Integer> derivedIds = new HashMap<>();

        Reader(String name, Benchmark benchmark, long seed) {
            this.name = name;
            this.fileName = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
            this.benchmark = benchmark;
            this.seed = seed;
        }

        void readLines(byte[] data) {
            List<int[]> lines = JsonlLines.split(data);
            for (int i = 0; i < lines.size(); i++) {
                int lineNumber = i + 1;
                String where = "line " + lineNumber;
                JsonNode record;
                try {
                    String line = JsonlLines.utf8(data, lines.get(i)[0], lines.get(i)[1]);
                    if (line.isBlank()) {
                        continue;
                    }
                    record = SftRecordParser.object(line, "(one benchmark record)");
                } catch (BadRecord | JsonlLines.NotUtf8 e) {
                    throw bad(where, null, e.getMessage());
                }
                accept(record, where, lineNumber);
            }
        }

        void readArray(byte[] data) {
            String text = utf8(data);
            int index = 0;
            String where = "index 0";
            // From the decoded text, so that Jackson does not guess the encoding (UTF-16/32) from the first bytes.
            try (JsonParser p = SftRecordParser.MAPPER.createParser(text)) {
                p.nextToken(); // the '[' isArray saw
                while (true) {
                    where = "index " + index;
                    JsonToken t = p.nextToken();
                    if (t == JsonToken.END_ARRAY) {
                        break;
                    }
                    if (t == null) {
                        throw bad(where, null, "the array is not closed (a truncated file?)");
                    }
                    int line = p.currentTokenLocation().getLineNr();
                    where = "index " + index + " (line " + line + ")";
                    JsonNode record = ELEMENT.readTree(p);
                    if (record == null || !record.isObject()) {
                        throw bad(where, null, "expected a JSON object (one benchmark record), got "
                                + SftRecordParser.kind(record));
                    }
                    accept(record, where, index + 1);
                    index++;
                }
                where = "after the array";
                if (p.nextToken() != null) {
                    throw bad("line " + p.currentTokenLocation().getLineNr(), null,
                            "content after the array's closing ]");
                }
            } catch (JsonProcessingException e) {
                throw bad(where, null, "not valid JSON" + at(e.getLocation()) + ": " + jacksonMessage(e));
            } catch (IOException e) {
                throw bad(where, null, "not valid JSON: " + e.getMessage());
            }
        }

        /** The whole file as UTF-8 text without its byte-order mark; bad bytes are reported with their line. */
        private String utf8(byte[] data) {
            int start = data.length >= 3 && (data[0] & 0xff) == 0xEF && (data[1] & 0xff) == 0xBB
                    && (data[2] & 0xff) == 0xBF ? 3 : 0;
            CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            ByteBuffer in = ByteBuffer.wrap(data, start, data.length - start);
            CharBuffer out = CharBuffer.allocate(data.length - start);
            CoderResult r = dec.decode(in, out, true);
            if (!r.isError()) {
                r = dec.flush(out);
            }
            if (r.isError()) {
                int at = in.position();
                int line = 1;
                for (int i = start; i < at; i++) {
                    if (data[i] == '\n') {
                        line++;
                    }
                }
                throw bad("line " + line, null, "not valid UTF-8: byte 0x"
                        + String.format(Locale.ROOT, "%02X", data[Math.min(at, data.length - 1)] & 0xff));
            }
            return out.flip().toString();
        }

        private void accept(JsonNode record, String where, int number) {
            if (benchmark == null) {
                benchmark = Benchmark.detect(record);
                if (benchmark == null) {
                    throw bad(where, null, "unknown schema: fields " + fieldList(record) + "; expected one of: "
                            + Benchmark.expected() + "; or name the benchmark (" + Benchmark.ids() + ")");
                }
            }
            records++;
            Adapters.Converted converted;
            try {
                converted = Adapters.convert(benchmark, record, new Adapters.Source(fileName, number, seed, derivedIds));
            } catch (BadRecord e) {
                throw bad(where, record, benchmark.title() + " record " + e.getMessage());
            }
            if (converted.dropped() != null) {
                dropped.merge(converted.dropped(), 1, Integer::sum);
                return;
            }
            for (Comparison c : converted.comparisons()) {
                String first = whereOfId.putIfAbsent(c.id(), where);
                if (first != null) {
                    throw bad(where, null, "comparison id \"" + Json.printable(c.id(), 80) + "\" again (first at "
                            + first + "); ids must be unique, since scoring and resuming go by them");
                }
                comparisons.add(c);
            }
        }

        Loaded finish() {
            if (records == 0) {
                throw new BadInputException(name + ": no records (an empty file)");
            }
            if (comparisons.isEmpty()) {
                throw new BadInputException(name + ": no comparisons; all " + records + " " + benchmark.title()
                        + " records were dropped (" + droppedText() + ")");
            }
            return new Loaded(benchmark.id(), comparisons, dropped);
        }

        private String droppedText() {
            return dropped.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue())
                    .collect(Collectors.joining(", "));
        }

        /** "FILE line 7 (record "x"): message". */
        private BadInputException bad(String where, JsonNode record, String message) {
            String id = record == null ? null : recordId(record);
            return new BadInputException(name + " " + where + (id == null ? "" : " (record \"" + id + "\")") + ": "
                    + message);
        }
    }

    /** The record's own id for messages, from the first id-like field that holds one; null if none. */
    private static String recordId(JsonNode record) {
        for (String f : List.of("id", "pair_id", "pair_uid", "bon_uid", "question_id")) {
            JsonNode n = record.get(f);
            if (n != null && (n.isTextual() && !n.textValue().isBlank() || n.isIntegralNumber())) {
                return Json.printable(n.asText(), 60);
            }
        }
        return null;
    }

    /** "[a, b, c]": a record's field names, for the unknown-schema message. */
    private static String fieldList(JsonNode record) {
        List<String> names = new ArrayList<>();
        record.fieldNames().forEachRemaining(f -> names.add(Json.printable(f, 40)));
        if (names.size() > 30) {
            int more = names.size() - 30;
            names.subList(30, names.size()).clear();
            names.add("... " + more + " more");
        }
        return "[" + String.join(", ", names) + "]";
    }

    private static String at(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 1 ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    /** Jackson's message on one line, without its source-location noise. */
    private static String jacksonMessage(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) {
            m = e.getClass().getSimpleName();
        }
        return m.replaceAll("\\[Source: [^;\\]]*; ", "[").replaceAll("\\s+", " ").strip();
    }
}
