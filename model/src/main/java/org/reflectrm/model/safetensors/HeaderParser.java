package org.reflectrm.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.reflectrm.kernels.DType;

/**
 * Reads and validates the header of a mapped safetensors file, applying the checks of the
 * reference Rust reader ({@code SafeTensors::read_metadata} and {@code Metadata::validate}) plus
 * duplicate-key and unknown-field rejection. Each failure gets its own message.
 */
final class HeaderParser {

    private HeaderParser() {
    }

    /** Bytes of the little-endian u64 header length that starts every file. */
    static final int LENGTH_FIELD_BYTES = 8;

    static final String METADATA_KEY = "__metadata__";

    private static final Set<String> FIELDS = Set.of("dtype", "shape", "data_offsets");

    private static final ValueLayout.OfLong U64_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A tensor as the header describes it; offsets are relative to the data buffer. */
    record RawTensor(String name, DType dtype, long[] shape, long begin, long end) {
    }

    /**
     * A validated header. {@code tensors} are in data-offset order and tile
     * [0, dataBytes) exactly; the data buffer starts at file offset 8 + headerLength.
     */
    record Header(long headerLength, Map<String, String> metadata, List<RawTensor> tensors) {

        long dataStart() {
            return LENGTH_FIELD_BYTES + headerLength;
        }
    }

    static Header parse(MemorySegment file, String name) {
        long size = file.byteSize();
        if (size < LENGTH_FIELD_BYTES) {
            throw new SafetensorsException(name + ": file is " + size
                    + " bytes, too short for the 8-byte header length (truncated file?)");
        }
        long n = file.get(U64_LE, 0);
        // Compared unsigned: the field is a u64 and a set top bit must read as huge, not negative.
        if (Long.compareUnsigned(n, JsonReading.MAX_HEADER_BYTES) > 0) {
            throw new SafetensorsException(name + ": header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + JsonReading.MAX_HEADER_BYTES + " bytes");
        }
        if (n > size - LENGTH_FIELD_BYTES) {
            throw new SafetensorsException(name + ": header length " + n + " goes beyond the end of the file: only "
                    + (size - LENGTH_FIELD_BYTES) + " bytes follow the length field (file is " + size + " bytes)");
        }
        byte[] bytes = file.asSlice(LENGTH_FIELD_BYTES, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode root = JsonReading.parse(JsonReading.decodeUtf8(bytes, name, "header"), name, "header");
        if (!root.isObject()) {
            throw new SafetensorsException(name + ": header must be a JSON object, found " + JsonReading.found(root));
        }

        Map<String, String> metadata = Map.of();
        List<RawTensor> tensors = new ArrayList<>(root.size());
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata = metadata(e.getValue(), name);
            } else {
                tensors.add(tensor(e.getKey(), e.getValue(), name));
            }
        }
        // The header's key order means nothing (old writers sorted by name); the data order does.
        // Name breaks ties between empty tensors sharing an offset, so the order is deterministic.
        tensors.sort(Comparator.comparingLong(RawTensor::begin).thenComparingLong(RawTensor::end)
                .thenComparing(RawTensor::name, Text.CODE_POINT_ORDER));
        checkTiling(tensors, size - LENGTH_FIELD_BYTES - n, size, n, name);
        return new Header(n, metadata, Collections.unmodifiableList(tensors));
    }

    private static Map<String, String> metadata(JsonNode node, String file) {
        if (!node.isObject()) {
            throw new SafetensorsException(file + ": " + METADATA_KEY
                    + " must be an object mapping strings to strings, found " + JsonReading.found(node));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file + ": " + METADATA_KEY + " key " + Text.quote(e.getKey())
                        + " must have a string value, found " + JsonReading.found(e.getValue()));
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private static RawTensor tensor(String tensor, JsonNode node, String file) {
        String where = file + ": tensor " + Text.quote(tensor) + ": ";
        if (!node.isObject()) {
            throw new SafetensorsException(where + "entry must be an object with dtype, shape and data_offsets, found "
                    + JsonReading.found(node));
        }
        Set<String> unknown = new TreeSet<>();
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            if (!FIELDS.contains(f.getKey())) {
                unknown.add(f.getKey());
            }
        }
        if (!unknown.isEmpty()) {
            throw new SafetensorsException(where + "unknown field" + (unknown.size() > 1 ? "s " : " ")
                    + unknown.stream().map(Text::quote).collect(Collectors.joining(", "))
                    + "; expected only dtype, shape and data_offsets");
        }
        for (String f : List.of("dtype", "shape", "data_offsets")) {
            if (!node.has(f)) {
                throw new SafetensorsException(where + "missing field '" + f + "'");
            }
        }

        JsonNode dtypeNode = node.get("dtype");
        if (!dtypeNode.isTextual()) {
            throw new SafetensorsException(where + "field 'dtype' must be a string, found " + JsonReading.found(dtypeNode));
        }
        DType dtype = DType.fromSafetensors(dtypeNode.textValue()).orElseThrow(() -> new SafetensorsException(where
                + "field 'dtype' is " + Text.quote(dtypeNode.textValue()) + ", not a known safetensors dtype (known: "
                + Arrays.stream(DType.values()).map(DType::name).collect(Collectors.joining(", ")) + ")"));

        long[] shape = integers(node.get("shape"), "shape", where, -1);
        long[] offsets = integers(node.get("data_offsets"), "data_offsets", where, 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new SafetensorsException(where + "data_offsets [" + begin + ", " + end + "]: begin " + begin + " is after end " + end);
        }
        var needed = Shapes.byteSize(dtype, shape);
        if (needed.isEmpty()) {
            throw new SafetensorsException(where + "shape " + Arrays.toString(shape) + " of " + dtype
                    + " has more bytes than fit in 64 bits");
        }
        if (end - begin != needed.getAsLong()) {
            throw new SafetensorsException(where + "data_offsets [" + begin + ", " + end + "] give " + (end - begin)
                    + " bytes but " + Shapes.describe(dtype, shape) + " needs " + needed.getAsLong());
        }
        return new RawTensor(tensor, dtype, shape, begin, end);
    }

    /** An array of non-negative longs; {@code count} is the required length, or -1 for any. */
    private static long[] integers(JsonNode node, String field, String where, int count) {
        String expected = count < 0 ? "an array of non-negative integers"
                : "an array of exactly " + count + " non-negative integers [begin, end]";
        if (!node.isArray()) {
            throw new SafetensorsException(where + "field '" + field + "' must be " + expected + ", found "
                    + JsonReading.found(node));
        }
        if (count >= 0 && node.size() != count) {
            throw new SafetensorsException(where + "field '" + field + "' must be " + expected + ", found "
                    + node.size() + " element" + (node.size() == 1 ? "" : "s"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            String why = JsonReading.notNonNegativeLong(node.get(i));
            if (why != null) {
                throw new SafetensorsException(where + "field '" + field + "' element " + i + ": " + why);
            }
            out[i] = node.get(i).longValue();
        }
        return out;
    }

    /**
     * Sorted by offset, the tensors must cover the data buffer from 0 with no gap and no overlap and
     * end exactly at the end of the file, so every byte of the file belongs to exactly one place.
     */
    private static void checkTiling(List<RawTensor> sorted, long dataBytes, long fileSize, long n, String file) {
        long expected = 0;
        RawTensor previous = null;
        for (RawTensor t : sorted) {
            if (t.begin() != expected) {
                String at = file + ": tensor " + Text.quote(t.name()) + ": data_offsets [" + t.begin() + ", " + t.end()
                        + "] ";
                if (previous == null) {
                    throw new SafetensorsException(at + "leave the first " + t.begin()
                            + " bytes of the data buffer unused; the first tensor must begin at offset 0");
                }
                String prev = "tensor " + Text.quote(previous.name()) + ", which ends at " + expected;
                throw new SafetensorsException(at + (t.begin() > expected
                        ? "leave a gap of " + (t.begin() - expected) + " bytes after " + prev
                        : "overlap " + prev));
            }
            expected = t.end();
            previous = t;
        }
        if (expected > dataBytes) {
            throw new SafetensorsException(file + ": file is truncated: tensor " + Text.quote(previous.name())
                    + " ends at data offset " + expected + " but only " + dataBytes + " data bytes follow the header"
                    + " (file is " + fileSize + " bytes, expected " + Long.toUnsignedString(LENGTH_FIELD_BYTES + n + expected)
                    + ")");
        }
        if (expected < dataBytes) {
            String last = previous == null ? "the header, which declares no tensors"
                    : "the last tensor " + Text.quote(previous.name()) + " (data offset " + expected + ")";
            throw new SafetensorsException(file + ": " + (dataBytes - expected) + " unexpected trailing bytes after "
                    + last + "; file is " + fileSize + " bytes, expected " + (LENGTH_FIELD_BYTES + n + expected));
        }
    }
}
