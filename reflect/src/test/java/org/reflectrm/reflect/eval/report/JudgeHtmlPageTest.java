package org.reflectrm.reflect.eval.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.judge.Confidence;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.TextGenerator;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/** The judgment page of a scripted judgment: token spans and tooltips, the marked bottom tokens, escaping, the second stage. */
class JudgeHtmlPageTest {
    private static final Tokenizer TOKENIZER = Tokenizer.qwen3();
    private static final JudgePrompts PROMPTS =
            new JudgePrompts(TOKENIZER, Qwen3ChatTemplate.current(), JudgeTemplate.bundled("v1"));
    private static final Pattern CRITIQUE = Pattern.compile("\\[Critique (\\d)]\\nrollout-(\\d+)");
    private static final Pattern TOKEN = Pattern.compile("<(span|mark) class='t(\\d)' title='([^']*)'>([^<]*)</\\1>");
    private static final int TOKENS = 20;
    /** Token 5 of every rollout reads as markup, to be shown as text. */
    private static final IntFunction<String> TEXT = id -> id % 100 == 5 ? "<b>&" : "w" + id;

    /**
     * Rollout i says {@code verdicts[i]} (0: unparseable) in 20 tokens, ids 1000 + 100·i + t; all
     * log-probabilities are in (−0.2, 0] but tokens {@code 3 + i} and {@code 11 + i}, at −3 − i and
     * −2.5 − i, so the two lowest (the bottom 10%) are known and rollout 0 is the most confident.
     * A reflection prefers a rollout in {@code beats}, else the anchor.
     */
    private record Script(int[] verdicts, Set<Integer> beats) implements TextGenerator {
        @Override
        public List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens) {
            List<Output> out = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                String prompt = TOKENIZER.decode(prompts.get(i), false);
                if (!prompt.contains("[Critiques for Judgment]")) {
                    String text = verdicts[i] == 0 ? "rollout-" + i + " <is> unsure"
                            : "<Analysis>rollout-" + i + "</Analysis><Result>" + Verdict.Kind.RESPONSE.sentence(verdicts[i]) + "</Result>";
                    int[] ids = new int[TOKENS];
                    float[] lp = new float[TOKENS];
                    for (int t = 0; t < TOKENS; t++) {
                        ids[t] = 1000 + 100 * i + t;
                        lp[t] = -0.01f * ((t * 7 + i * 3) % 20);
                    }
                    lp[3 + i] = -3f - i;
                    lp[11 + i] = -2.5f - i;
                    out.add(new Output(text, ids, lp));
                    continue;
                }
                Matcher m = CRITIQUE.matcher(prompt);
                int slot = -1, anchorSlot = -1;
                while (m.find()) {
                    int rollout = Integer.parseInt(m.group(2));
                    if (beats.contains(rollout)) {
                        slot = Integer.parseInt(m.group(1));
                    }
                    if (rollout == 0) {
                        anchorSlot = Integer.parseInt(m.group(1));
                    }
                }
                out.add(new Output("<Analysis>I compare <script>x</script></Analysis><Result>"
                        + Verdict.Kind.CRITIQUE.sentence(slot > 0 ? slot : anchorSlot) + "</Result>", new int[] {7}, new float[] {-1f}));
            }
            return out;
        }
    }

    private static final String EVIL = "<script>alert('x')</script> & \"more\"";

    private static Judge.Result judge(Script s, Judge.Mode mode, Judge.Item item) {
        return new Judge(s, PROMPTS).judgeAll(List.of(item), new Judge.Options(mode, s.verdicts().length, 1.0, 0.1, 3, 64))
                .getFirst();
    }

    private static Judge.Item item() {
        return new Judge.Item(List.of(ChatMessage.system("Be <brief>."), ChatMessage.user("Which is right? 2+2")),
                "It is 4 " + EVIL, "It is 5");
    }

    private static String page(Judge.Result r) {
        return JudgmentPage.html(new JudgmentPage.Judgment(item(), List.of(r), r.verdict() == null ? null
                : r.verdict() == 1 ? "A" : "B", r.status(), 0.1), TEXT);
    }

    /** The token elements of rollout {@code i}'s card. */
    private static List<MatchResult> tokensOf(String page, String order, int i) {
        int from = page.indexOf("id='" + order + "-rollout-" + i + "'");
        assertTrue(from >= 0, "card of rollout " + i);
        return TOKEN.matcher(page.substring(from, page.indexOf("</div></div>", from))).results().toList();
    }

    @Test
    void everyTokenIsASpanWithItsLogProbabilityAndTheBottomTenPercentAreMarked() {
        Judge.Result r = judge(new Script(new int[] {1, 2, 2, 0}, Set.of(1)), Judge.Mode.REFLECT, item());
        String page = page(r);
        for (int i = 0; i < 4; i++) {
            Judge.Rollout ro = r.rollouts().get(i);
            List<MatchResult> tokens = tokensOf(page, "ab", i);
            assertEquals(TOKENS, tokens.size(), "rollout " + i + ": one element per token");
            List<Integer> marked = new ArrayList<>();
            for (int t = 0; t < TOKENS; t++) {
                MatchResult m = tokens.get(t);
                String lp = String.format(Locale.ROOT, "log p %.4f", ro.logprobs()[t]);
                assertTrue(m.group(3).contains(lp), "tooltip " + m.group(3) + " has " + lp);
                String text = t == 5 ? "&lt;b&gt;&amp;" : "w" + ro.tokenIds()[t];
                assertEquals(text, m.group(4), "the token's text, escaped");
                assertEquals(JudgmentPage.tint(ro.logprobs()[t]), Integer.parseInt(m.group(2)));
                if (m.group(1).equals("mark")) {
                    marked.add(t);
                }
            }
            assertEquals(List.of(3 + i, 11 + i), marked, "exactly the two lowest of 20 tokens");
            assertEquals(Set.copyOf(marked), Set.of(java.util.Arrays.stream(Confidence.bottomIndices(ro.logprobs(), 0.1))
                    .boxed().toArray(Integer[]::new)));
            assertEquals(i < 2 ? 4 : 5, JudgmentPage.tint(ro.logprobs()[3 + i]), "log p " + ro.logprobs()[3 + i]);
            assertTrue(page.contains(String.format(Locale.ROOT, "Confidence %.4f", ro.confidence())), "confidence of " + i);
        }
        assertEquals(4 * 2, page.substring(page.indexOf("<h2>Order")).split("<mark class='t", -1).length - 1,
                "no other token is marked (the legend has one mark, before the orders)");
        // The fixed scale: ≥ −0.1, [−0.5, −0.1), [−1, −0.5), [−2, −1), [−4, −2), below −4 (and NaN).
        double[] at = {0, -0.1, -0.1001, -0.5, -0.99, -1, -2, -3.9, -4, -4.01, -40, Double.NaN};
        int[] want = {0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 5};
        for (int k = 0; k < at.length; k++) {
            assertEquals(want[k], JudgmentPage.tint(at[k]), "tint of " + at[k]);
        }
        assertTrue(page.contains("<span class='t0'>≥ -0.1</span><span class='t1'>-0.5 to -0.1</span>"), "the legend");
    }

    @Test
    void textsAreEscaped() {
        Judge.Result r = judge(new Script(new int[] {1, 2, 2, 0}, Set.of(1)), Judge.Mode.REFLECT, item());
        String page = page(r);
        assertFalse(page.contains("<script"), "no markup from the texts");
        assertFalse(page.contains("<brief>") || page.contains("<is>") || page.contains("<b>&"));
        assertTrue(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"), "response A as text");
        assertTrue(page.contains("Be &lt;brief&gt;."));
        assertTrue(page.contains("&lt;Analysis&gt;I compare &lt;script&gt;x&lt;/script&gt;"), "a reflection's text");
    }

    @Test
    void reflectShowsTheAnchorEachReflectionAndTheFinalVote() {
        // Anchor: rollout 0 (the most confident; says 1). Rollout 1 (says 2) beats it, 2 loses, 3 is unparseable.
        Judge.Result r = judge(new Script(new int[] {1, 2, 2, 0}, Set.of(1)), Judge.Mode.REFLECT, item());
        assertEquals(0, r.anchor());
        assertEquals(List.of(1), r.winners());
        assertEquals(2, r.verdict());
        String page = page(r);
        assertTrue(page.contains("Final verdict: Response B is better"), page);
        assertTrue(page.contains("mode reflect"));
        assertTrue(page.contains("<div class='card isanchor' id='ab-rollout-0'><h3>Rollout 0<span class='badge anchor'>anchor</span>"));
        assertTrue(page.contains("Rollout 1<span class='badge won'>won its reflection</span>"));
        assertTrue(page.contains("Rollout 2<span class='badge lost'>lost its reflection</span>"));
        assertTrue(page.contains("Rollout 3<span class='badge bad'>unparseable</span>"));
        assertTrue(page.contains("Reflections against the anchor (rollout 0)"));
        for (Judge.Reflection f : r.reflections()) {
            String head = "Rollout " + f.rollout() + " against the anchor" + (f.rolloutWon()
                    ? "<span class='badge won'>rollout won</span>" : "<span class='badge lost'>anchor won</span>");
            assertTrue(page.contains(head), head);
            assertTrue(page.contains("Rollout " + f.rollout() + "'s critique shown " + (f.rolloutFirst() ? "first (Critique 1)"
                    : "second (Critique 2)")), "order of reflection " + f.rollout());
        }
        assertEquals(2, r.reflections().size());
        assertTrue(page.contains("Winners: rollout 1. The anchor did not have to vote. Votes: Response 1 (A) 0, "
                + "Response 2 (B) 1. Verdict: Response 2 (B) is better."), page);

        // Nobody beats the anchor: it votes alone.
        Judge.Result alone = judge(new Script(new int[] {1, 2, 2, 0}, Set.of()), Judge.Mode.REFLECT, item());
        assertTrue(alone.anchorVoted());
        String p2 = page(alone);
        assertTrue(p2.contains("Winners: none. With no winners, so the anchor (rollout 0) had to vote with them. "
                + "Votes: Response 1 (A) 1, Response 2 (B) 0. Verdict: Response 1 (A) is better."), p2);
        assertTrue(p2.contains("Final verdict: Response A is better"));
    }

    @Test
    void voteGreedyAndBothOrders() {
        Script s = new Script(new int[] {1, 2, 2, 0}, Set.of());
        String vote = page(judge(s, Judge.Mode.VOTE, item()));
        assertTrue(vote.contains("Majority vote.</b> Votes: Response 1 (A) 1, Response 2 (B) 2, unparseable 1 (not counted)."));
        assertFalse(vote.contains("Reflections") || vote.contains("badge anchor"));
        assertEquals(4, vote.split("<div class='card", -1).length - 1);

        String greedy = page(judge(s, Judge.Mode.GREEDY, item()));
        assertEquals(1, greedy.split("<div class='card", -1).length - 1, "one rollout");
        assertTrue(greedy.contains("Greedy.</b> The one analysis decides. Verdict: Response 1 (A) is better."));

        Judge.Item ab = item();
        Judge.Item ba = new Judge.Item(ab.conversation(), ab.response2(), ab.response1());
        Judge.Result r1 = judge(s, Judge.Mode.VOTE, ab), r2 = judge(s, Judge.Mode.VOTE, ba);
        String both = JudgmentPage.html(new JudgmentPage.Judgment(ab, List.of(r1, r2), null, "inconsistent", 0.1), TEXT);
        assertTrue(both.contains("Final verdict: none (inconsistent)"));
        assertTrue(both.contains("Order (A, B)") && both.contains("Order (B, A): Response B shown as Response 1"));
        // In (B, A), Response 2 is A.
        assertTrue(both.contains("Votes: Response 1 (B) 1, Response 2 (A) 2"), both);
        assertEquals(8, both.split("<div class='card", -1).length - 1);
        assertTrue(both.contains("id='ba-rollout-3'"));
        assertEquals(1, both.split("&lt;script&gt;alert", -1).length - 1, "response A once, in the header");
    }
}
