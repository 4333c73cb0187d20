package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** judge on a tiny random checkpoint: the output record, determinism, both orders, bad input. */
class JudgeCommandTest {
    @TempDir
    static Path shared;
    static String tiny;

    @BeforeAll
    static void makeTinyModel() {
        tiny = shared.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "2", "--out", tiny);
    }

    @Test
    void reflectPrintsEveryRolloutAndIsDeterministic() {
        String[] args = {"judge", "--model", tiny, "--prompt", "2+2?", "--a", "4", "--b", "5<|im_end|>", "--rollouts", "3",
            "--max-new-tokens", "8", "--seed", "3", "--json"};
        JsonNode a = CliTest.ok(args).json();
        JsonNode b = CliTest.ok(args).json();
        assertEquals("reflect", a.get("mode").asText());
        assertEquals("v1", a.get("template_version").asText());
        assertEquals(3, a.get("rollouts").size());
        for (JsonNode r : a.get("rollouts")) {
            assertTrue(r.has("analysis") && r.has("verdict") && r.has("confidence"), r.toString());
        }
        assertTrue(a.has("anchor") && a.has("reflections") && a.has("winners"));
        assertTrue(a.get("verdict").isNull() || List.of("A", "B").contains(a.get("verdict").asText()));
        assertEquals(a.get("rollouts"), b.get("rollouts"), "same seed, same analyses");
        assertEquals(a.get("verdict"), b.get("verdict"));
    }

    @Test
    void bothOrdersAndTheBaselines() {
        JsonNode both = CliTest.ok("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "vote",
                "--rollouts", "2", "--max-new-tokens", "4", "--both-orders", "--json").json();
        assertEquals(2, both.get("orders").size());
        assertEquals("BA", both.get("orders").get(1).get("order").asText());
        assertTrue(both.has("verdict") && both.has("status"));
        JsonNode greedy = CliTest.ok("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "greedy",
                "--max-new-tokens", "4", "--json").json();
        assertEquals(1, greedy.get("rollouts").size());
    }

    @Test
    void letterMapsTheShownOrderBackToAandB() {
        assertEquals("A", JudgeCommand.letter(1, false));
        assertEquals("B", JudgeCommand.letter(2, false));
        assertEquals("B", JudgeCommand.letter(1, true));
        assertEquals("A", JudgeCommand.letter(2, true));
        assertEquals(null, JudgeCommand.letter(null, true));
    }

    @Test
    void badInputExitsWithTwo() {
        CliTest.bad(List.of("judge", "--model", tiny, "--a", "x", "--b", "y"), "--prompt TEXT or --messages FILE");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--mode", "best"), "--mode");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--rollouts", "1"), "--rollouts");
        CliTest.bad(List.of("judge", "--model", tiny, "--prompt", "q", "--a", "x", "--b", "y", "--template-version", "v7"), "v7");
        CliTest.bad(List.of("judge", "--model", tiny, "--messages", "nope.json", "--a", "x", "--b", "y"), "no such file");
    }
}
