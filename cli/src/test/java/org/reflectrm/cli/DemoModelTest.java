package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled demo judge: unpacked once from the jar, and the default model of judge, eval, generate and data sample. */
class DemoModelTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path cache;

    @BeforeEach
    void useTemporaryCache() {
        System.setProperty("reflectrm.cache", cache.toString());
    }

    @AfterEach
    void forgetCache() {
        System.clearProperty("reflectrm.cache");
    }

    @Test
    void unpacksTheBundledFilesOnceIntoAFolderNamedByTheirContent() throws IOException {
        Path folder = DemoModel.folder(cache);
        assertTrue(folder.getFileName().toString().matches("demo-[0-9a-f]{16}"), folder.toString());
        for (String name : DemoModel.FILES) {
            try (InputStream in = DemoModel.class.getResourceAsStream("/org/reflectrm/cli/demo-model/" + name)) {
                assertArrayEquals(in.readAllBytes(), Files.readAllBytes(folder.resolve(name)), name);
            }
        }
        long modified = Files.getLastModifiedTime(folder.resolve("model.safetensors")).toMillis();
        assertEquals(folder, DemoModel.folder(cache));
        assertEquals(modified, Files.getLastModifiedTime(folder.resolve("model.safetensors")).toMillis(), "not rewritten");
        try (var entries = Files.list(cache)) {
            assertEquals(List.of(folder), entries.toList(), "no staging folder left behind");
        }
    }

    @Test
    void judgeWithoutModelUsesTheTrainedDemo() throws IOException {
        CliTest.Run r = CliTest.ok("judge", "--prompt", "What is 9-3?", "--a", "6", "--b", "7", "--mode", "greedy", "--json");
        assertTrue(r.err().contains("bundled demo judge"), r.err());
        // A trained judge, not random weights: in its default (reflect) mode it judges the README's
        // examples, its main command's pair first, right in both orders (a random model's verdicts
        // are unparseable).
        for (String[] q : new String[][] {{"What is 7+5?", "12", "13"}, {"What is 9-3?", "6", "7"}, {"Which is larger, 47 or 74?", "74", "47"},
                {"How many r in strawberry?", "3", "2"}}) {
            JsonNode ab = JSON.readTree(CliTest.ok("judge", "--prompt", q[0], "--a", q[1], "--b", q[2], "--json").out());
            JsonNode ba = JSON.readTree(CliTest.ok("judge", "--prompt", q[0], "--a", q[2], "--b", q[1], "--json").out());
            assertEquals("A", ab.get("verdict").asText(), q[0] + ": " + ab);
            assertEquals("B", ba.get("verdict").asText(), q[0] + ": " + ba);
        }
    }

    /** Pairs judged together each draw their own reflection orders (one seed for all once gave them all the same). */
    @Test
    void pairsOfABatchDrawTheirOwnReflectionOrders() throws IOException {
        Path input = cache.resolve("pairs.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            lines.append("{\"id\":\"p").append(i).append("\",\"prompt\":\"What is 7+5?\",\"response_a\":\"12\",\"response_b\":\"13\"}\n");
        }
        Files.writeString(input, lines);
        Path output = cache.resolve("out.jsonl");
        CliTest.ok("judge", "--input", input.toString(), "--output", output.toString(), "--batch-pairs", "4");
        java.util.Set<String> orders = new java.util.HashSet<>();
        for (String line : Files.readAllLines(output)) {
            StringBuilder pattern = new StringBuilder();
            JSON.readTree(line).get("reflections").forEach(r -> pattern.append(r.get("rollout_shown_first").asBoolean() ? 'R' : 'A'));
            orders.add(pattern.toString());
        }
        assertTrue(orders.size() > 1, "every pair had the same reflection orders: " + orders);
    }

    @Test
    void commandsThatTrainStillRequireModel() {
        CliTest.bad(List.of("train", "sft", "--data", "x.jsonl", "--out", cache.resolve("o").toString()),
                "Missing required option: '--model=DIR'");
        CliTest.bad(List.of("info"), "Missing required option: '--model=DIR'");
    }
}
