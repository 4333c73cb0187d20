package org.reflectrm.reflect.eval.adapters;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.reflect.eval.Comparison;

/**
 * Mutated samples of every format: records with a field removed, given a value of the wrong type
 * or cut short, and files with bytes flipped, cut off, deleted or inserted (JSON punctuation,
 * invalid UTF-8, NUL, a byte-order mark). Each mutated file either reads into whole comparisons or
 * is refused with a {@link BadInputException} naming the file and a line or array index; nothing
 * else is ever thrown, and no record is half-read.
 */
class AdapterFuzzTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final byte[] PUNCT = "{}[]\":,\\ \n0-enulltrue".getBytes(StandardCharsets.UTF_8);
    private static final byte[][] SNIPPETS = {
        "\\u".getBytes(StandardCharsets.UTF_8), "\\ud800".getBytes(StandardCharsets.UTF_8),
        "é".getBytes(StandardCharsets.UTF_8), {(byte) 0xC3}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
        {0}, {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, "\n".getBytes(StandardCharsets.UTF_8),
        "[[[[".getBytes(StandardCharsets.UTF_8), "1e999999".getBytes(StandardCharsets.UTF_8),
        "\"id\": 1, ".getBytes(StandardCharsets.UTF_8), "\"tie\"".getBytes(StandardCharsets.UTF_8),
    };

    /** A sample's records and whether it is a JSON array file. */
    private record Sample(String name, boolean array, List<JsonNode> records) {
        byte[] write(List<JsonNode> recs) throws Exception {
            StringBuilder sb = new StringBuilder(array ? "[\n" : "");
            for (int i = 0; i < recs.size(); i++) {
                String json = array ? SftRecordParser.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(recs.get(i))
                        : SftRecordParser.MAPPER.writeValueAsString(recs.get(i));
                sb.append(json).append(array ? (i + 1 < recs.size() ? ",\n" : "\n") : "\n");
            }
            return sb.append(array ? "]\n" : "").toString().getBytes(StandardCharsets.UTF_8);
        }
    }

    private static Sample sample(String name) throws Exception {
        byte[] data = Samples.bytes(name);
        List<JsonNode> records = new ArrayList<>();
        boolean array = BenchmarkFiles.isArray(data);
        if (array) {
            SftRecordParser.MAPPER.readTree(data).forEach(records::add);
        } else {
            for (String line : new String(data, StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    records.add(SftRecordParser.MAPPER.readTree(line));
                }
            }
        }
        return new Sample(name, array, records);
    }

    /** Every place in a tree a value sits: a setter and a remover for it. */
    private record Slot(JsonNode value, Consumer<JsonNode> set, Runnable remove) {
    }

    private static void slots(JsonNode node, List<Slot> out) {
        if (node instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String f : names) {
                out.add(new Slot(o.get(f), v -> o.set(f, v), () -> o.remove(f)));
                slots(o.get(f), out);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                int at = i;
                out.add(new Slot(a.get(i), v -> a.set(at, v), () -> a.remove(at)));
                slots(a.get(i), out);
            }
        }
    }

    private static JsonNode wrongValue(Random r) {
        return switch (r.nextInt(10)) {
            case 0 -> F.nullNode();
            case 1 -> F.numberNode(3);
            case 2 -> F.numberNode(-1.5);
            case 3 -> F.booleanNode(true);
            case 4 -> F.textNode("");
            case 5 -> F.textNode("x\ud800");
            case 6 -> F.arrayNode();
            case 7 -> F.arrayNode().add("x");
            case 8 -> F.objectNode();
            default -> F.objectNode().put("role", "user").put("content", "c");
        };
    }

    /** A copy of the records with one value removed, replaced by a wrong one, or cut short. */
    private static List<JsonNode> mutateRecords(List<JsonNode> records, Random r) {
        List<JsonNode> copy = new ArrayList<>();
        records.forEach(n -> copy.add(n.deepCopy()));
        JsonNode target = copy.get(r.nextInt(copy.size()));
        List<Slot> slots = new ArrayList<>();
        slots(target, slots);
        Slot s = slots.get(r.nextInt(slots.size()));
        switch (r.nextInt(4)) {
            case 0 -> s.remove().run();
            case 1 -> s.set().accept(wrongValue(r));
            case 2 -> {
                if (s.value().isTextual()) {
                    String t = s.value().textValue();
                    s.set().accept(F.textNode(t.substring(0, r.nextInt(t.length() + 1))));
                } else if (s.value().isArray() && !s.value().isEmpty()) {
                    ((ArrayNode) s.value()).remove(s.value().size() - 1);
                } else {
                    s.set().accept(wrongValue(r));
                }
            }
            default -> {
                if (copy.size() > 1) {
                    copy.remove(r.nextInt(copy.size()));
                } else {
                    s.remove().run();
                }
            }
        }
        return copy;
    }

    private static byte[] mutateBytes(byte[] data, Random r) {
        byte[] b = data.clone();
        int ops = 1 + r.nextInt(3);
        for (int op = 0; op < ops && b.length > 0; op++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(6)) {
                case 0 -> b[at] = (byte) r.nextInt(256);
                case 1 -> b[at] = PUNCT[r.nextInt(PUNCT.length)];
                case 2 -> b = Arrays.copyOf(b, at);
                case 3 -> {
                    int len = Math.min(b.length - at, 1 + r.nextInt(8));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> {
                    byte[] s = SNIPPETS[r.nextInt(SNIPPETS.length)];
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    out.write(b, 0, at);
                    out.write(s, 0, s.length);
                    out.write(b, at, b.length - at);
                    b = out.toByteArray();
                }
                default -> b[at] ^= (byte) (1 << r.nextInt(8));
            }
        }
        return b;
    }

    private static void assertWhole(Comparison c, String context) {
        assertNotNull(c.id(), context);
        assertFalse(c.id().isBlank(), context);
        assertNotNull(c.group(), context);
        assertNotNull(c.subset(), context);
        assertNotNull(c.responseA(), context);
        assertNotNull(c.responseB(), context);
        assertNotNull(c.meta(), context);
        assertFalse(c.conversation().isEmpty(), context);
        assertTrue(c.conversation().getLast().role().equals("user"), context);
        c.conversation().forEach(m -> assertNotNull(m.content(), context));
    }

    @Test
    void mutatedSamplesReadWholeOrAreRefusedNamingALineOrIndex() throws Exception {
        List<Sample> samples = new ArrayList<>();
        for (String[] s : Samples.ALL) {
            samples.add(sample(s[0]));
        }
        Random r = new Random(20261127L);
        int read = 0, refused = 0;
        for (int i = 0; i < 6000; i++) {
            Sample s = samples.get(r.nextInt(samples.size()));
            byte[] data = r.nextBoolean() ? s.write(mutateRecords(s.records(), r)) : mutateBytes(s.write(s.records()), r);
            String context = s.name() + " mutation " + i + ":\n" + new String(data, StandardCharsets.UTF_8);
            String benchmark = r.nextInt(4) == 0 ? Samples.ALL.get(r.nextInt(Samples.ALL.size()))[1] : null;
            try {
                BenchmarkFiles.Loaded l = BenchmarkFiles.read(data, s.name(), benchmark, i);
                assertFalse(l.comparisons().isEmpty(), context);
                l.comparisons().forEach(c -> assertWhole(c, context));
                read++;
            } catch (BadInputException e) {
                String m = e.getMessage();
                assertTrue(m.startsWith(s.name() + " line ")
                        || m.startsWith(s.name() + " index ") || m.startsWith(s.name() + " after the array")
                        || m.equals(s.name() + ": no records (an empty file)")
                        || m.startsWith(s.name() + ": no comparisons; all "), m + "\n" + context);
                refused++;
            } catch (RuntimeException | AssertionError e) {
                fail(context + "\nthrew " + e, e);
            }
        }
        assertTrue(read > 500 && refused > 500, read + " read, " + refused + " refused");
    }
}
