package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.JudgmentJson;
import org.reflectrm.api.Mode;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.BadInputException;

/** The Java API on the bundled demo judge: the README's example, agreement with the command line, threads, errors. */
class JavaApiTest {
    private static Path demo;

    @BeforeAll
    static void unpackDemo() {
        demo = DemoModel.orDefault(null, new PrintWriter(Writer.nullWriter()));
    }

    private static ReflectRM open() {
        return ReflectRM.builder(demo).threads(2).notices(new PrintWriter(Writer.nullWriter())).open();
    }

    @Test
    void theReadmeExampleRunsAndIsTheReadmesCode() throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            example.JudgeWithReflectRM.main(new String[] {demo.toString()});
        } finally {
            System.setOut(saved);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("verdict: A (ok)"), out);
        // The README shows the lines between the markers, as they are here.
        List<String> source = Files.readAllLines(Path.of("src/test/java/example/JudgeWithReflectRM.java"));
        List<String> body = source.subList(indexOf(source, "// README-START") + 1, indexOf(source, "// README-END"));
        // Indentation aside: the README shows it inside a list item.
        String readme = String.join("\n", Files.readAllLines(Path.of("../README.md")).stream().map(String::strip).toList());
        String snippet = String.join("\n", body.stream().map(String::strip).toList());
        assertTrue(readme.contains(snippet), "README.md must show the example as it is compiled:\n" + snippet);
    }

    private static int indexOf(List<String> lines, String marker) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals(marker)) {
                return i;
            }
        }
        throw new AssertionError("no " + marker);
    }

    /** The API's judgment, written as the command line writes it, is the command line's record. */
    @Test
    void agreesWithTheCommandLine() throws IOException {
        JsonNode cli = CliTest.ok("judge", "--model", demo.toString(), "--prompt", "What is 9-4?", "--a", "6", "--b", "5",
                "--mode", "vote", "--rollouts", "3", "--seed", "7", "--both-orders", "--threads", "2", "--json").json();
        try (ReflectRM rm = open()) {
            Judgment j = rm.judge(Pair.of("What is 9-4?", "6", "5"),
                    JudgeOptions.defaults().withMode(Mode.VOTE).withRollouts(3).withSeed(7).withBothOrders(true));
            ObjectNode api = new ObjectMapper().createObjectNode();
            api.put("id", "pair");
            api.setAll(JudgmentJson.record(new ObjectMapper(), j));
            assertEquals(withoutTimes(cli), withoutTimes(api));
        }
    }

    private static JsonNode withoutTimes(JsonNode n) {
        JsonNode copy = n.deepCopy();
        copy.findParents("timings").forEach(p -> ((ObjectNode) p).remove("timings"));
        copy.findParents("stage_seconds").forEach(p -> ((ObjectNode) p).remove("stage_seconds"));
        return copy;
    }

    /** One instance shared by threads serialises their calls: each gets what it would alone. */
    @Test
    void aSharedInstanceJudgesFromSeveralThreads() throws Exception {
        List<Pair> pairs = List.of(Pair.of("What is 3+4?", "7", "8"), Pair.of("What is 2+2?", "5", "4"),
                Pair.of("Which is larger, 3 or 8?", "8", "3"));
        JudgeOptions options = JudgeOptions.defaults().withRollouts(3).withMaxNewTokens(96);
        try (ReflectRM rm = open()) {
            List<Judgment> alone = new ArrayList<>();
            for (Pair p : pairs) {
                alone.add(rm.judge(p, options));
            }
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<Judgment>> together = new ArrayList<>();
                for (Pair p : pairs) {
                    together.add(pool.submit(() -> rm.judge(p, options)));
                }
                for (int i = 0; i < pairs.size(); i++) {
                    Judgment j = together.get(i).get();
                    assertEquals(alone.get(i).verdict(), j.verdict(), "pair " + i);
                    assertEquals(alone.get(i).orders().getFirst().rollouts(), j.orders().getFirst().rollouts(), "pair " + i);
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void badInputAndAClosedInstanceSayWhatIsWrong() {
        BadInputException missing = assertThrows(BadInputException.class,
                () -> ReflectRM.builder(demo.resolve("nowhere")).notices(new PrintWriter(Writer.nullWriter())).open());
        assertTrue(missing.getMessage().contains("nowhere"), missing.getMessage());
        ReflectRM rm = open();
        BadInputException badOption = assertThrows(BadInputException.class,
                () -> rm.judge(Pair.of("q", "a", "b"), JudgeOptions.defaults().withRollouts(1)));
        assertTrue(badOption.getMessage().contains("rollouts"), badOption.getMessage());
        rm.close();
        assertThrows(IllegalStateException.class, () -> rm.judge(Pair.of("q", "a", "b"), JudgeOptions.defaults()));
    }
}
