package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.model.judge.Confidence;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.ModelTextGenerator;
import org.reflectrm.model.judge.TwoStage;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.reflect.eval.report.JudgmentPage;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;

/** judge --html on a tiny random checkpoint: the page, its agreement with --json, bad input, and the page in Chromium. */
class JudgeHtmlCommandTest {
    private static final Pattern TOKEN = Pattern.compile("<(span|mark) class='t\\d' title='[^']*· log p (-?[0-9.]+|NaN) [^']*'>");

    @TempDir
    static Path shared;
    static String tiny;

    @BeforeAll
    static void makeTinyModel() {
        tiny = shared.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "2", "--out", tiny);
    }

    private static List<String> pair(String... more) {
        List<String> args = new ArrayList<>(List.of("judge", "--model", tiny, "--prompt", "2+2? <b>bold</b>", "--a",
                "4 <script>alert('a')</script>", "--b", "5 & six", "--rollouts", "3", "--max-new-tokens", "12", "--seed", "3"));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void writesThePageOfTheJudgmentTheJsonReports() throws IOException {
        Path page = shared.resolve("judgment.html");
        CliTest.Run run = CliTest.ok(pair("--json", "--html", page.toString()).toArray(String[]::new));
        assertTrue(run.err().contains("wrote " + page), run.err());
        JsonNode withPage = run.json();
        JsonNode without = CliTest.ok(pair("--json").toArray(String[]::new)).json();
        ((ObjectNode) withPage).remove(List.of("timings", "stage_seconds"));
        ((ObjectNode) without).remove(List.of("timings", "stage_seconds"));
        assertEquals(without, withPage, "--html leaves the JSON as it was");

        String html = Files.readString(page);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.endsWith("</html>\n"));
        assertFalse(html.contains("<script"), "no markup from the texts, no script");
        assertTrue(html.contains("4 &lt;script&gt;alert(&#39;a&#39;)&lt;/script&gt;") && html.contains("5 &amp; six")
                && html.contains("2+2? &lt;b&gt;bold&lt;/b&gt;"), "the pair as text");
        assertFalse(html.contains("http://") || html.contains("https://"), "nothing to fetch");
        assertTrue(html.contains("mode reflect"));
        JsonNode rollouts = withPage.get("rollouts");
        for (int i = 0; i < rollouts.size(); i++) {
            int from = html.indexOf("id='ab-rollout-" + i + "'");
            assertTrue(from >= 0, "a card for rollout " + i);
            List<MatchResult> tokens = TOKEN.matcher(html.substring(from, html.indexOf("</div></div>", from))).results().toList();
            assertTrue(!tokens.isEmpty() && tokens.size() <= 12, "rollout " + i + " tokens: " + tokens.size());
            List<Double> marked = new ArrayList<>(), rest = new ArrayList<>();
            for (MatchResult t : tokens) {
                (t.group(1).equals("mark") ? marked : rest).add(Double.parseDouble(t.group(2)));
            }
            assertEquals(Math.max(1, tokens.size() / 10), marked.size(), "the lowest 10% of " + tokens.size() + " tokens");
            double mean = marked.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            JsonNode confidence = rollouts.get(i).get("confidence");
            assertEquals(confidence.asDouble(), mean, 1e-3, "the marked tokens are the ones the confidence averages");
            double highestMarked = marked.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            assertTrue(rest.stream().allMatch(lp -> lp >= highestMarked - 1e-4), "no unmarked token is lower");
        }
        if (!withPage.get("anchor").isNull()) {
            int anchor = withPage.get("anchor").asInt();
            assertTrue(html.contains("id='ab-rollout-" + anchor + "'><h3>Rollout " + anchor + "<span class='badge anchor'>"));
            assertEquals(withPage.get("reflections").size(), html.split("against the anchor<span", -1).length - 1);
            assertTrue(html.contains("Final vote."));
        } else {
            assertTrue(html.contains("there is no anchor"));
        }
        String verdict = withPage.get("verdict").isNull() ? "Final verdict: none (" + withPage.get("status").asText() + ")"
                : "Final verdict: Response " + withPage.get("verdict").asText() + " is better";
        assertTrue(html.contains(verdict), verdict);

        BrowserCheck.rendersWithoutErrors(page, Path.of("target/judge-page.png"), "table", "mark", "span");
    }

    @Test
    void bothOrdersOnOnePage() throws IOException {
        Path page = shared.resolve("both.html");
        CliTest.Run run = CliTest.ok(pair("--mode", "vote", "--both-orders", "--html", page.toString(), "--json")
                .toArray(String[]::new));
        JsonNode record = run.json();
        String html = Files.readString(page);
        assertTrue(html.contains("Order (A, B)") && html.contains("Order (B, A)"));
        assertEquals(6, html.split("<div class='card", -1).length - 1, "three rollouts per order");
        assertTrue(html.contains("Majority vote.") && !html.contains("Reflections"));
        String verdict = record.get("verdict").isNull() ? "Final verdict: none (" + record.get("status").asText() + ")"
                : "Final verdict: Response " + record.get("verdict").asText() + " is better";
        assertTrue(html.contains(verdict), verdict);
        // Overwriting is atomic: no temporary file is left beside it.
        CliTest.ok(pair("--mode", "greedy", "--html", page.toString()).toArray(String[]::new));
        assertEquals(1, Files.readString(page).split("<div class='card", -1).length - 1, "greedy: one rollout");
        try (var files = Files.list(shared)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("both.html") && !f.equals(page)));
        }
    }

    /**
     * A reflect judgment as a trained judge gives one (real tokens of the Qwen3 tokenizer, made-up
     * log-probabilities): the page with an anchor, reflections won and lost and the final vote
     * renders in Chromium (target/judge-page-reflect.png shows it).
     */
    @Test
    void aReflectJudgmentRendersInChromium() throws IOException {
        Tokenizer tokenizer = Tokenizer.qwen3();
        String why = "<Analysis>The user asks for 2+2. Response 1 answers 4, which is correct and direct. "
                + "Response 2 answers 5, which is wrong.</Analysis>\n<Result>";
        List<Judge.Rollout> rollouts = List.of(
                rollout(tokenizer, why + Verdict.Kind.RESPONSE.sentence(1) + "</Result>", 0.25, 1),
                rollout(tokenizer, why + Verdict.Kind.RESPONSE.sentence(1) + "</Result>", 0.6, 2),
                rollout(tokenizer, "<Analysis>Both add numbers; Response 2 shows more effort, so it is more helpful."
                        + "</Analysis>\n<Result>" + Verdict.Kind.RESPONSE.sentence(2) + "</Result>", 0.9, 3),
                rollout(tokenizer, "Hmm, it depends on what <the user> wants", 1.2, 4));
        int anchor = TwoStage.anchor(rollouts.stream().map(r -> new TwoStage.Rollout(r.verdict(), r.confidence())).toList());
        assertEquals(0, anchor, "the least hesitant rollout");
        // Rollout 1 (shown first) beats the anchor; rollout 2 (shown second) loses to it.
        String won = "<Analysis>Both critiques check the arithmetic; Critique 1 also notes that Response 1 is direct."
                + "</Analysis><Result>" + Verdict.Kind.CRITIQUE.sentence(1) + "</Result>";
        String lost = "<Analysis>Critique 1 checks the arithmetic; Critique 2 rewards effort over correctness.</Analysis>"
                + "<Result>" + Verdict.Kind.CRITIQUE.sentence(1) + "</Result>";
        List<Judge.Reflection> reflections = List.of(
                new Judge.Reflection(1, true, won, Verdict.parse(won, Verdict.Kind.CRITIQUE), true),
                new Judge.Reflection(2, false, lost, Verdict.parse(lost, Verdict.Kind.CRITIQUE), false));
        Judge.Result result = new Judge.Result(1, Judge.Mode.REFLECT, "v1", rollouts, anchor, reflections, List.of(1), false, 0, 0);
        Judge.Item pair = new Judge.Item(List.of(ChatMessage.user("What is 2+2?")), "4", "5, because I carried the one.");
        String html = JudgmentPage.html(new JudgmentPage.Judgment(pair, List.of(result), "A", "ok", 0.1),
                id -> ModelTextGenerator.tokenText(tokenizer, id));
        assertTrue(html.contains("⟨|im_end|⟩"), "the stop token, named");
        assertTrue(html.contains("Winners: rollout 1. The anchor did not have to vote."));
        Path page = shared.resolve("reflect.html");
        Files.writeString(page, html);
        BrowserCheck.rendersWithoutErrors(page, Path.of("target/judge-page-reflect.png"), "table", "mark", "span", "pre");
    }

    /** A rollout of {@code text} and a stop token, log-probabilities of −scale·(−ln u)² for seeded uniform u. */
    private static Judge.Rollout rollout(Tokenizer tokenizer, String text, double scale, long seed) {
        int[] body = tokenizer.encode(text);
        int[] ids = java.util.Arrays.copyOf(body, body.length + 1);
        ids[body.length] = tokenizer.tokenId("<|im_end|>").orElseThrow();
        float[] lp = new float[ids.length];
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int i = 0; i < lp.length; i++) {
            double e = -Math.log(1 - random.nextDouble());
            lp[i] = (float) (-scale * e * e);
        }
        return new Judge.Rollout(text, Verdict.parse(text, Verdict.Kind.RESPONSE), Confidence.bottomMean(lp, 0.1), ids, lp);
    }

    @Test
    void refusedWithABatchOrNowhereToWrite() {
        CliTest.bad(List.of("judge", "--model", tiny, "--input", "pairs.jsonl", "--output", shared.resolve("o.jsonl").toString(),
                "--html", shared.resolve("p.html").toString()), "--html writes the page of one judged pair", "--input");
        CliTest.bad(pair("--html", shared.resolve("no/such/folder/p.html").toString()), "--html", "no folder");
        CliTest.bad(pair("--html", shared.toString()), "is a folder");
    }
}
