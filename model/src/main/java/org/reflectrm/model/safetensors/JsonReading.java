package org.reflectrm.model.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict JSON reading for safetensors headers and shard indexes: UTF-8 checked before parsing,
 * duplicate keys rejected at every level, nothing but whitespace after the value, and every
 * failure turned into a {@link SafetensorsException} that names the file.
 */
final class JsonReading {

    private JsonReading() {
    }

    /** The safetensors reference reader refuses headers above this size (its MAX_HEADER_SIZE). */
    static final int MAX_HEADER_BYTES = 100_000_000;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            // Jackson's defaults (20 MB strings, 50,000-char names) are below what a legal 100 MB
            // header may hold; nesting stays limited because no valid header nests deeper than 3.
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(MAX_HEADER_BYTES)
                    .maxNameLength(MAX_HEADER_BYTES)
                    .maxDocumentLength(4L * MAX_HEADER_BYTES)
                    .maxNestingDepth(1000)
                    .build())
            // Two entries for one tensor would leave it ambiguous which one a reader uses.
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*)'", Pattern.DOTALL);

    /**
     * Decodes strict UTF-8 (no replacement characters), reporting the offset of the first bad byte.
     * {@code what} names the text in messages, e.g. "header".
     */
    static String decodeUtf8(byte[] bytes, String file, String what) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        // UTF-8 never needs more UTF-16 units than it has bytes.
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw new SafetensorsException(file + ": " + what + " is not valid UTF-8: bad byte 0x"
                    + String.format("%02x", bytes[in.position()] & 0xff) + " at " + what + " offset " + in.position());
        }
        return out.flip().toString();
    }

    /** Parses one JSON value with nothing but whitespace around it. */
    static JsonNode parse(String text, String file, String what) {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            // serde_json (the reference) does not skip a byte order mark, so neither do we.
            throw new SafetensorsException(file + ": " + what + " starts with a byte order mark (EF BB BF); expected '{'");
        }
        try (JsonParser p = MAPPER.createParser(text)) {
            JsonNode root = MAPPER.readTree(p);
            if (root == null || root.isMissingNode()) {
                throw new SafetensorsException(file + ": " + what + " is empty; expected a JSON object");
            }
            JsonToken extra = p.nextToken();
            if (extra != null) {
                JsonLocation at = p.currentTokenLocation();
                throw new SafetensorsException(file + ": " + what + " has unexpected content after the JSON object at "
                        + where(at) + "; only spaces may follow it");
            }
            return root;
        } catch (JacksonException e) {
            throw new SafetensorsException(describe(e, file, what), e);
        } catch (IOException e) {
            // Parsing a String performs no I/O; kept only because the API declares it.
            throw new SafetensorsException(file + ": cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    private static String describe(JacksonException e, String file, String what) {
        String original = e.getOriginalMessage();
        String place = e.getLocation() == null ? "" : " at " + where(e.getLocation());
        Matcher dup = original == null ? null : DUPLICATE.matcher(original);
        if (dup != null && dup.matches()) {
            List<String> path = e.getProcessor() instanceof JsonParser p ? enclosingKeys(p) : List.of();
            String inside = path.isEmpty() ? "at the top level" : "inside " + String.join(" > ",
                    path.stream().map(Text::quote).toList());
            String at = e.getLocation() == null ? "" : " (" + where(e.getLocation()) + ")";
            return file + ": " + what + " has duplicate key " + Text.quote(dup.group(1)) + " " + inside + at;
        }
        String message = original == null ? e.getClass().getSimpleName() : firstLine(original);
        return file + ": " + what + " is not valid JSON" + place + ": " + message;
    }

    /** The keys of the objects enclosing the parser's current object, outermost first. */
    private static List<String> enclosingKeys(JsonParser p) {
        List<String> keys = new ArrayList<>();
        JsonStreamContext ctx = p.getParsingContext();
        for (JsonStreamContext c = ctx == null ? null : ctx.getParent(); c != null; c = c.getParent()) {
            if (c.inObject() && c.getCurrentName() != null) {
                keys.addFirst(c.getCurrentName());
            }
        }
        return keys;
    }

    private static String where(JsonLocation at) {
        return "line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        // Jackson quotes the offending input, which is untrusted: escape it like any other.
        return Text.clean(nl < 0 ? s : s.substring(0, nl), 300);
    }

    /** A short description of a JSON value for "found ..." in messages. */
    static String found(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        String type = switch (n.getNodeType()) {
            case ARRAY -> "array";
            case OBJECT -> "object";
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
        if (n.isNull()) {
            return type;
        }
        StringBuilder b = new StringBuilder();
        render(n, b);
        String text = b.length() > FOUND_CHARS ? b.substring(0, FOUND_CHARS) + "..." : b.toString();
        return type + " " + Text.clean(text, FOUND_CHARS + 3);
    }

    private static final int FOUND_CHARS = 60;

    /**
     * Compact JSON of {@code n}, stopping soon after {@link #FOUND_CHARS} characters: a header may
     * hold a 100 MB array, and the message needs only its start.
     */
    private static void render(JsonNode n, StringBuilder b) {
        if (b.length() > FOUND_CHARS) {
            return;
        }
        if (n.isArray() || n.isObject()) {
            b.append(n.isArray() ? '[' : '{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> e : n.isObject() ? n.properties() : indexed(n)) {
                if (b.length() > FOUND_CHARS) {
                    return;
                }
                b.append(first ? "" : ",");
                first = false;
                if (n.isObject()) {
                    appendShort(b, e.getKey());
                    b.append(':');
                }
                render(e.getValue(), b);
            }
            b.append(n.isArray() ? ']' : '}');
        } else if (n.isTextual()) {
            appendShort(b, n.textValue());
        } else {
            String t = n.asText();
            b.append(t.length() > FOUND_CHARS ? t.substring(0, FOUND_CHARS) : t);
        }
    }

    private static Iterable<Map.Entry<String, JsonNode>> indexed(JsonNode array) {
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        for (int i = 0; i < array.size() && i <= FOUND_CHARS / 2; i++) {
            out.add(Map.entry("", array.get(i)));
        }
        return out;
    }

    private static void appendShort(StringBuilder b, String s) {
        b.append('"').append(s.length() > FOUND_CHARS ? s.substring(0, FOUND_CHARS) : s).append('"');
    }

    /**
     * Why {@code n} is not an integer in [0, Long.MAX_VALUE], or null when it is one. Floats such as
     * {@code 2.0} are refused, as the reference reader (serde into usize) refuses them.
     */
    static String notNonNegativeLong(JsonNode n) {
        if (n == null || !n.isIntegralNumber()) {
            return "expected a non-negative integer, found " + found(n);
        }
        if (!n.canConvertToLong()) {
            return (n.bigIntegerValue().signum() < 0 ? "negative " : "") + "integer " + abbreviate(n.asText())
                    + " does not fit in 64 bits";
        }
        if (n.longValue() < 0) {
            return "expected a non-negative integer, found " + n.longValue();
        }
        return null;
    }

    private static String abbreviate(String digits) {
        return digits.length() > 40 ? digits.substring(0, 20) + "..." + digits.substring(digits.length() - 10)
                + " (" + digits.length() + " digits)" : digits;
    }
}
