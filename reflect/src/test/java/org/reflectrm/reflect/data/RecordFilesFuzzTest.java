package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.model.BadInputException;
import org.reflectrm.reflect.grpo.GrpoPrompt;

/**
 * The JSONL files the training pipeline reads from users: labelled pairs ({@code data sample}),
 * sampled analyses ({@code data build}) and GRPO records ({@code train grpo}). Real lines made by
 * the commands are damaged (nodes replaced by hostile values or removed, bytes changed, lines cut
 * or repeated); each reader may only accept the file or refuse it with a {@link BadInputException}
 * naming the file (and the line, for a bad record). Each case has its own seed, printed on failure.
 */
class RecordFilesFuzzTest {
    private static final long BASE_SEED = 0xF11E5L;
    static final int CASES_PER_READER = 1500;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] HOSTILE = {"null", "0", "-1", "2147483648", "1e308", "1.5", "true", "\"\"", "\"x\"",
            "\"A\"", "\"B\"", "\"refl\"", "\"pref\"", "\"critique\"", "[]", "[{}]", "[{\"role\":\"user\"}]",
            "[{\"role\":\"system\",\"content\":\"x\"}]", "{}", "{\"a\":1}", "\"v9\"", "\"\\u0000\"", "3", "2", "1"};

    @TempDir
    Path dir;

    @Test
    void labelledPairs() throws IOException {
        fuzz("pairs.jsonl", (bytes) -> LabelledPairs.read(bytes, "fuzz/pairs.jsonl", 1), "fuzz/pairs.jsonl");
    }

    @Test
    void sampledAnalyses() throws IOException {
        fuzz("samples.jsonl", (bytes) -> SamplesFile.read(bytes, "fuzz/samples.jsonl"), "fuzz/samples.jsonl");
    }

    @Test
    void grpoRecords() throws IOException {
        Path file = dir.resolve("grpo.jsonl");
        fuzz("grpo.jsonl", (bytes) -> {
            try {
                Files.write(file, bytes);
                return GrpoPrompt.load(file);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, file.toString());
    }

    private void fuzz(String resource, Function<byte[], Object> reader, String name) throws IOException {
        List<String> lines;
        try (InputStream in = RecordFilesFuzzTest.class.getResourceAsStream("/fuzz/" + resource)) {
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        }
        reader.apply((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8)); // the real file reads
        int accepted = 0;
        for (int c = 0; c < CASES_PER_READER; c++) {
            long seed = BASE_SEED + resource.hashCode() * 1_000_003L + c;
            Random r = new Random(seed);
            byte[] bytes = damaged(lines, r);
            try {
                reader.apply(bytes);
                accepted++;
            } catch (BadInputException e) {
                assertTrue(e.getMessage().startsWith(name + " line ") || e.getMessage().startsWith(name + ": ")
                        || e.getMessage().startsWith("--data " + name), "case " + seed + ": " + e.getMessage());
            } catch (RuntimeException | Error e) {
                fail("case " + seed + " (" + new String(bytes, StandardCharsets.UTF_8) + "): " + e, e);
            }
        }
        assertTrue(accepted < CASES_PER_READER, "the damage should be refused at least sometimes");
    }

    private static byte[] damaged(List<String> lines, Random r) {
        List<String> out = new ArrayList<>(lines);
        switch (r.nextInt(5)) {
            case 0, 1, 2 -> {
                int i = r.nextInt(out.size());
                try {
                    JsonNode tree = JSON.readTree(out.get(i));
                    for (int k = 1 + r.nextInt(3); k > 0; k--) {
                        mutate(tree, r);
                    }
                    out.set(i, tree.toString());
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }
            case 3 -> {
                int i = r.nextInt(out.size());
                StringBuilder line = new StringBuilder(out.get(i));
                for (int k = 1 + r.nextInt(3); k > 0 && !line.isEmpty(); k--) {
                    line.setCharAt(r.nextInt(line.length()), "0123456789\"{}[],:x \u00e9".charAt(r.nextInt(20)));
                }
                out.set(i, r.nextBoolean() ? line.toString() : line.substring(0, r.nextInt(line.length() + 1)));
            }
            default -> {
                if (r.nextBoolean()) {
                    out.add(out.get(r.nextInt(out.size()))); // a repeated record
                } else {
                    out.subList(r.nextInt(out.size()), out.size()).clear(); // cut (perhaps to nothing)
                }
            }
        }
        return (String.join("\n", out) + (r.nextInt(4) == 0 ? "" : "\n")).getBytes(StandardCharsets.UTF_8);
    }

    /** Replaces or removes one node reached by a random walk from the root. */
    private static void mutate(JsonNode root, Random r) throws IOException {
        ContainerNode<?> parent = null;
        Object key = null;
        JsonNode node = root;
        for (int depth = 0; depth < 5 && node.isContainerNode() && node.size() > 0; depth++) {
            if (depth > 0 && r.nextInt(3) == 0) {
                break;
            }
            parent = (ContainerNode<?>) node;
            if (node.isObject()) {
                List<String> names = new ArrayList<>();
                node.fieldNames().forEachRemaining(names::add);
                key = names.get(r.nextInt(names.size()));
                node = node.get((String) key);
            } else {
                key = r.nextInt(node.size());
                node = node.get((Integer) key);
            }
        }
        JsonNode value = JSON.readTree(HOSTILE[r.nextInt(HOSTILE.length)]);
        boolean remove = r.nextInt(5) == 0;
        if (parent instanceof ObjectNode o) {
            if (remove) {
                o.remove((String) key);
            } else {
                o.set((String) key, value);
            }
        } else if (parent instanceof ArrayNode a) {
            if (remove) {
                a.remove((Integer) key);
            } else {
                a.set((Integer) key, value);
            }
        }
    }
}
