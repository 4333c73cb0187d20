package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.counting;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;

/**
 * Opens thousands of corrupted variants of a valid file. Whatever the damage, the reader may only
 * succeed or throw {@link SafetensorsException} with a message naming the file; any other
 * exception or error is a bug. Each case has its own seed, printed on failure, so it can be
 * replayed alone by setting {@code -Dsafetensors.fuzz.case=SEED}.
 */
class SafetensorsFuzzTest {

    private static final long BASE_SEED = 0x5AFE7E45L;
    private static final int FILE_CASES = 6000;
    private static final int INDEX_CASES = 1500;

    private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?");
    private static final Pattern DTYPE = Pattern.compile("\"dtype\":\"[^\"]*\"");
    private static final Pattern SHAPE = Pattern.compile("\"shape\":\\[[^\\]]*\\]");
    private static final Pattern OFFSETS = Pattern.compile("\"data_offsets\":\\[[^\\]]*\\]");
    private static final Pattern MEMBER = Pattern.compile(
            "\"(?:dtype|shape|data_offsets|__metadata__|format)\":(?:\"[^\"]*\"|\\[[^\\]]*\\]|\\{[^}]*\\})");
    private static final Pattern STRING = Pattern.compile("\"[^\"]*\"");

    private static final String[] WEIRD_NUMBERS = {"99999999999999999999", "-1", "1.5", "1e400", "-0", "0",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "-9223372036854775808", "4294967296",
        "2305843009213693952", "00", "1e2", "2.0", "NaN", "Infinity", "-", "1" + "0".repeat(1200), "8", "24", "32"};
    private static final String[] DTYPES = {"F32", "F16", "BF16", "I64", "U8", "BOOL", "F64", "I8", "F8_E4M3",
        "F4", "f32", "", "BF16 ", "F8_E8M0", "C64", "\\u0046\\u0033\\u0032"};
    private static final String[] SHAPES = {"[]", "[0]", "[1]", "[2,3]", "[3,2]", "[6]", "[4]", "[8]", "[0,3]",
        "[4294967296,4294967296]", "[-1]", "[1.5]", "[\"2\"]", "null", "{}", "\"x\"", "[[2]]", "[2,3,0,99999999999]"};
    private static final String[] JUNK = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\u0000", "null", "\"x\":1,",
        "é", "\uD83D\uDE00", " ", "\n", "\"__metadata__\":{},", "/*c*/", "\uFEFF", "{\"a\":{}}", "1e999999999"};
    private static final String[] METADATA = {"null", "[]", "{\"a\":1}", "\"x\"", "{\"a\":{\"b\":\"c\"}}",
        "{\"\":\"\"}", "{\"format\":null}", "{}"};

    @TempDir
    Path dir;

    /** A valid file exercising several dtypes, a scalar, an empty tensor and metadata. */
    private static byte[] baseFile(Path scratch) throws IOException {
        MemorySegment scalar = MemorySegment.ofArray(new byte[8]);
        scalar.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 42);
        SafetensorsWriter.write(scratch, List.of(
                new TensorSource("a.b", DType.F32, new long[] {2, 3}, counting(24, 0)),
                new TensorSource("model.norm.weight", DType.F16, new long[] {4}, counting(8, 50)),
                new TensorSource("step", DType.I64, new long[] {}, scalar),
                new TensorSource("empty", DType.BF16, new long[] {0, 3}, MemorySegment.ofArray(new byte[0])),
                new TensorSource("flags", DType.U8, new long[] {5}, counting(5, 90))), Map.of("format", "pt"));
        return Files.readAllBytes(scratch);
    }

    @Test
    void corruptedFilesOnlyEverFailWithSafetensorsException() throws IOException {
        byte[] base = baseFile(dir.resolve("base.safetensors"));
        Path file = dir.resolve("fuzz.safetensors");
        String only = System.getProperty("safetensors.fuzz.case");
        int accepted = 0;
        int rejected = 0;
        for (int i = 0; i < FILE_CASES; i++) {
            long seed = only != null ? Long.parseLong(only) : BASE_SEED + 1_000_003L * i;
            Random r = new Random(seed);
            StringBuilder log = new StringBuilder();
            byte[] bytes = mutateFile(base, r, log);
            Files.write(file, bytes);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                // Accepted: every view must be readable, exactly within the file.
                for (TensorEntry e : f.tensors().values()) {
                    if (e.byteSize() > 0) {
                        e.data().get(ValueLayout.JAVA_BYTE, 0);
                        e.data().get(ValueLayout.JAVA_BYTE, e.byteSize() - 1);
                    }
                }
                accepted++;
            } catch (SafetensorsException e) {
                rejected++;
                if (e.getMessage() == null || !e.getMessage().startsWith(file.toString())) {
                    fail("case seed " + seed + " (" + log + "): message does not start with the file: "
                            + e.getMessage());
                }
            } catch (Throwable t) {
                fail("case seed " + seed + " mutation " + log + " threw " + t, t);
            }
            if (only != null) {
                break;
            }
        }
        System.out.printf("safetensors fuzz: %d accepted, %d rejected%n", accepted, rejected);
        assertTrue(rejected > FILE_CASES / 2, "most mutations should be rejected, got " + rejected);
        assertTrue(accepted > 0, "some mutations (same-size dtype swaps, spacing) should still be valid");
    }

    @Test
    void corruptedIndexesOnlyEverFailWithSafetensorsException() throws IOException {
        List<TensorSource> tensors = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            tensors.add(new TensorSource("t" + i, DType.F32, new long[] {4}, counting(16, i)));
        }
        Path model = Files.createDirectory(dir.resolve("model"));
        SafetensorsWriter.writeSharded(model, tensors, Map.of("format", "pt"), 40);
        Path indexFile = model.resolve(Checkpoint.INDEX_FILE);
        String base = Files.readString(indexFile);
        int rejected = 0;
        for (int i = 0; i < INDEX_CASES; i++) {
            long seed = BASE_SEED * 31 + 7_919L * i;
            Random r = new Random(seed);
            StringBuilder log = new StringBuilder();
            String text = base;
            for (int k = 1 + r.nextInt(2); k > 0; k--) {
                text = mutateIndex(text, r, log);
            }
            Files.writeString(indexFile, text);
            try (Checkpoint c = Checkpoint.open(model)) {
                c.totalBytes();
            } catch (SafetensorsException e) {
                rejected++;
            } catch (Throwable t) {
                fail("index case seed " + seed + " mutation " + log + " threw " + t, t);
            }
        }
        assertTrue(rejected > 0);
    }

    // ---- file mutations

    private static byte[] mutateFile(byte[] base, Random r, StringBuilder log) {
        int n = 1 + (r.nextInt(4) == 0 ? r.nextInt(3) : 0);
        byte[] bytes = base;
        for (int k = 0; k < n; k++) {
            bytes = mutateOnce(bytes, r, log);
        }
        return bytes;
    }

    private static byte[] mutateOnce(byte[] bytes, Random r, StringBuilder log) {
        int kind = r.nextInt(14);
        log.append(kind).append(':');
        switch (kind) {
            case 0 -> {
                byte[] b = bytes.clone();
                for (int k = 1 + r.nextInt(8); k > 0 && b.length > 0; k--) {
                    int at = r.nextInt(b.length);
                    b[at] = (byte) r.nextInt(256);
                    log.append("set@").append(at).append(' ');
                }
                return b;
            }
            case 1 -> {
                int len = r.nextInt(bytes.length + 1);
                log.append("truncate to ").append(len).append(' ');
                return Arrays.copyOf(bytes, len);
            }
            case 2 -> {
                int extra = 1 + r.nextInt(16);
                byte[] b = Arrays.copyOf(bytes, bytes.length + extra);
                for (int k = bytes.length; k < b.length; k++) {
                    b[k] = (byte) r.nextInt(256);
                }
                log.append("append ").append(extra).append(' ');
                return b;
            }
            case 3 -> {
                if (bytes.length < 8) {
                    return bytes;
                }
                long old = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                long[] choices = {r.nextLong(), old + r.nextInt(33) - 16, 0, 100_000_000, 100_000_001,
                    bytes.length - 8, bytes.length - 7, Long.MIN_VALUE, -1, r.nextInt(bytes.length + 8)};
                long n = choices[r.nextInt(choices.length)];
                log.append("length field ").append(Long.toUnsignedString(n)).append(' ');
                byte[] b = bytes.clone();
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                return b;
            }
            default -> {
                return mutateHeader(bytes, kind, r, log);
            }
        }
    }

    /** JSON-aware mutations: edit the header text, then rebuild a consistent length field. */
    private static byte[] mutateHeader(byte[] bytes, int kind, Random r, StringBuilder log) {
        if (bytes.length < 8) {
            return bytes;
        }
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 0 || n > bytes.length - 8) {
            return bytes;
        }
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(bytes, 8 + (int) n, bytes.length);
        if (kind == 13) {
            // Raw bytes that are not UTF-8, inside the header.
            byte[] hb = Arrays.copyOfRange(bytes, 8, 8 + (int) n);
            int at = r.nextInt(hb.length + 1);
            byte[] out = new byte[hb.length + 1];
            System.arraycopy(hb, 0, out, 0, at);
            out[at] = (byte) (0x80 + r.nextInt(128));
            System.arraycopy(hb, at, out, at + 1, hb.length - at);
            log.append("bad utf8@").append(at).append(' ');
            return rebuild(out, data, r);
        }
        String h = switch (kind) {
            case 4 -> replaceOne(header, NUMBER, r, m -> WEIRD_NUMBERS[r.nextInt(WEIRD_NUMBERS.length)], log);
            case 5 -> dropMember(header, r, log);
            case 6 -> duplicateMember(header, r, log);
            case 7 -> replaceOne(header, DTYPE, r, m -> "\"dtype\":\"" + DTYPES[r.nextInt(DTYPES.length)] + "\"", log);
            case 8 -> replaceOne(header, SHAPE, r, m -> "\"shape\":" + SHAPES[r.nextInt(SHAPES.length)], log);
            case 9 -> swapOffsets(header, r, log);
            case 10 -> {
                int at = r.nextInt(header.length() + 1);
                String junk = JUNK[r.nextInt(JUNK.length)];
                log.append("insert ").append(junk.length() > 10 ? junk.substring(0, 10) : junk).append('@').append(at)
                        .append(' ');
                yield header.substring(0, at) + junk + header.substring(at);
            }
            case 11 -> replaceOne(header, STRING, r, m -> {
                String[] names = {"\"a.b\"", "\"step\"", "\"__metadata__\"", "\"\"", "\"dtype\"", "\"x\\ud800\""};
                return names[r.nextInt(names.length)];
            }, log);
            case 12 -> {
                String meta = METADATA[r.nextInt(METADATA.length)];
                log.append("metadata ").append(meta).append(' ');
                yield header.replace("{\"format\":\"pt\"}", meta);
            }
            default -> throw new IllegalStateException("no header mutation " + kind);
        };
        return rebuild(h.getBytes(StandardCharsets.UTF_8), data, r);
    }

    private static byte[] rebuild(byte[] header, byte[] data, Random r) {
        int pad = r.nextBoolean() ? (8 - header.length % 8) % 8 : 0;
        byte[] padded = Arrays.copyOf(header, header.length + pad);
        Arrays.fill(padded, header.length, padded.length, (byte) ' ');
        return SafetensorsTestSupport.raw(padded.length, padded, data);
    }

    private interface Replacement {
        String apply(Matcher m);
    }

    private static String replaceOne(String text, Pattern p, Random r, Replacement with, StringBuilder log) {
        List<int[]> spans = spans(text, p);
        if (spans.isEmpty()) {
            return text;
        }
        int[] s = spans.get(r.nextInt(spans.size()));
        Matcher m = p.matcher(text);
        m.find(s[0]);
        String replacement = with.apply(m);
        log.append("replace '").append(abbreviate(m.group())).append("' by '").append(abbreviate(replacement))
                .append("' ");
        return text.substring(0, s[0]) + replacement + text.substring(s[1]);
    }

    private static String dropMember(String text, Random r, StringBuilder log) {
        List<int[]> spans = spans(text, MEMBER);
        if (spans.isEmpty()) {
            return text;
        }
        int[] s = spans.get(r.nextInt(spans.size()));
        int start = s[0];
        int end = s[1];
        // Take one neighbouring comma along so the rest stays well-formed JSON.
        if (end < text.length() && text.charAt(end) == ',') {
            end++;
        } else if (start > 0 && text.charAt(start - 1) == ',') {
            start--;
        }
        log.append("drop '").append(abbreviate(text.substring(s[0], s[1]))).append("' ");
        return text.substring(0, start) + text.substring(end);
    }

    private static String duplicateMember(String text, Random r, StringBuilder log) {
        List<int[]> spans = spans(text, MEMBER);
        if (spans.isEmpty()) {
            return text;
        }
        int[] s = spans.get(r.nextInt(spans.size()));
        String member = text.substring(s[0], s[1]);
        log.append("duplicate '").append(abbreviate(member)).append("' ");
        return text.substring(0, s[1]) + "," + member + text.substring(s[1]);
    }

    private static String swapOffsets(String text, Random r, StringBuilder log) {
        List<int[]> spans = spans(text, OFFSETS);
        if (spans.size() < 2) {
            return text;
        }
        int[] a = spans.get(r.nextInt(spans.size()));
        int[] b = spans.get(r.nextInt(spans.size()));
        if (a == b) {
            // Reverse one pair instead: [begin,end] -> [end,begin].
            String inner = text.substring(a[0] + "\"data_offsets\":[".length(), a[1] - 1);
            String[] parts = inner.split(",", -1);
            String reversed = "\"data_offsets\":[" + (parts.length == 2 ? parts[1] + "," + parts[0] : inner) + "]";
            log.append("reverse '").append(inner).append("' ");
            return text.substring(0, a[0]) + reversed + text.substring(a[1]);
        }
        if (a[0] > b[0]) {
            int[] t = a;
            a = b;
            b = t;
        }
        String first = text.substring(a[0], a[1]);
        String second = text.substring(b[0], b[1]);
        log.append("swap '").append(first).append("' and '").append(second).append("' ");
        return text.substring(0, a[0]) + second + text.substring(a[1], b[0]) + first + text.substring(b[1]);
    }

    private static List<int[]> spans(String text, Pattern p) {
        List<int[]> out = new ArrayList<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(new int[] {m.start(), m.end()});
        }
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    // ---- index mutations

    private static String mutateIndex(String text, Random r, StringBuilder log) {
        return switch (r.nextInt(6)) {
            case 0 -> replaceOne(text, NUMBER, r, m -> WEIRD_NUMBERS[r.nextInt(WEIRD_NUMBERS.length)], log);
            case 1 -> replaceOne(text, STRING, r, m -> {
                String[] values = {"\"../x.safetensors\"", "\"/etc/passwd\"", "\"\"", "\".\"", "\"model\"",
                    "\"a\\\\b\"", "\"model-00001-of-00002.safetensors\"", "\"model-00002-of-00002.safetensors\"",
                    "\"t0\"", "\"metadata\"", "\"weight_map\"", "\"total_size\"", "\"x\\u0000y\"", "1", "null",
                    "[]", "{}", "\"sub/./model-00001-of-00002.safetensors\"", "\"./model-00002-of-00002.safetensors\""};
                return values[r.nextInt(values.length)];
            }, log);
            case 2 -> {
                int at = r.nextInt(text.length() + 1);
                String junk = JUNK[r.nextInt(JUNK.length)];
                log.append("insert@").append(at).append(' ');
                yield text.substring(0, at) + junk + text.substring(at);
            }
            case 3 -> {
                int len = r.nextInt(text.length() + 1);
                log.append("truncate ").append(len).append(' ');
                yield text.substring(0, len);
            }
            case 4 -> {
                List<int[]> lines = spans(text, Pattern.compile("\\n\\s*\"t\\d\": \"[^\"]*\",?"));
                if (lines.isEmpty()) {
                    yield text;
                }
                int[] s = lines.get(r.nextInt(lines.size()));
                log.append("drop line ").append(s[0]).append(' ');
                yield text.substring(0, s[0]) + text.substring(s[1]);
            }
            default -> {
                log.append("metadata ");
                yield text.replaceFirst("\\{\\s*\"total_size\": \\d+\\s*}", METADATA[r.nextInt(METADATA.length)]);
            }
        };
    }
}
