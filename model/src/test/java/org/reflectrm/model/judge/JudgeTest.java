package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.qwen3.Qwen3Presets;
import org.reflectrm.model.qwen3.RandomCheckpoint;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/** The judge end to end: against a scripted model (every rule), and on a tiny random Qwen3 (plumbing). */
class JudgeTest {
    private static final Tokenizer TOKENIZER = Tokenizer.qwen3();
    private static final JudgePrompts PROMPTS =
            new JudgePrompts(TOKENIZER, Qwen3ChatTemplate.current(), JudgeTemplate.bundled("v1"));
    private static final Pattern CRITIQUE = Pattern.compile("\\[Critique (\\d)]\\nrollout-(\\d+)");

    /**
     * A stand-in model. Rollout i answers {@code verdicts[i]} (0: unparseable) with confidence
     * {@code -i/10} for all tokens except {@code lows[i]}; a reflection prefers the critique of a
     * rollout in {@code beats}, else the anchor's, and garbles answers about {@code garbled}.
     */
    private record Script(int[] verdicts, float[] lows, Set<Integer> beats, Set<Integer> garbled) implements TextGenerator {
        @Override
        public List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens) {
            List<Output> out = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                String prompt = TOKENIZER.decode(prompts.get(i), false);
                if (!prompt.contains("[Critiques for Judgment]")) {
                    String text = verdicts[i] == 0 ? "rollout-" + i + " is unsure"
                            : "<Analysis>rollout-" + i + "</Analysis><Result>" + Verdict.Kind.RESPONSE.sentence(verdicts[i]) + "</Result>";
                    out.add(new Output(text, new int[] {11, 12, 13}, new float[] {-0.01f, lows[i], -0.02f}));
                    continue;
                }
                Matcher m = CRITIQUE.matcher(prompt);
                int challengerSlot = -1, challenger = -1;
                while (m.find()) {
                    int rollout = Integer.parseInt(m.group(2));
                    if (beats.contains(rollout) || garbled.contains(rollout)) {
                        challengerSlot = Integer.parseInt(m.group(1));
                        challenger = rollout;
                    }
                }
                if (garbled.contains(challenger)) {
                    out.add(new Output("<Result>both fine</Result>", new int[] {14}, new float[] {-1f}));
                } else {
                    int slot = challengerSlot > 0 ? challengerSlot : anchorSlot(prompt);
                    out.add(new Output("<Result>" + Verdict.Kind.CRITIQUE.sentence(slot) + "</Result>", new int[] {15}, new float[] {-1f}));
                }
            }
            return out;
        }

        /** The slot of the critique of the most confident parseable rollout (the anchor). */
        private int anchorSlot(String prompt) {
            Matcher m = CRITIQUE.matcher(prompt);
            int bestSlot = 1;
            float best = Float.NEGATIVE_INFINITY;
            while (m.find()) {
                int r = Integer.parseInt(m.group(2));
                if (lows[r] > best) {
                    best = lows[r];
                    bestSlot = Integer.parseInt(m.group(1));
                }
            }
            return bestSlot;
        }
    }

    private static Judge.Result judge(Script script, Judge.Mode mode, int n, long seed) {
        return new Judge(script, PROMPTS).judge(List.of(ChatMessage.user("Which is right?")), "A says 4", "B says 5",
                new Judge.Options(mode, n, 1.0, 0.34, seed, 64));
    }

    @Test
    void reflectFollowsTheTwoStageRules() {
        // Anchor: rollout 2 (highest confidence, says 1). Rollouts 3 and 4 say 2 and beat it; 1 loses; 0 is unparseable.
        Script s = new Script(new int[] {0, 1, 1, 2, 2}, new float[] {-0.1f, -0.5f, -0.2f, -0.6f, -0.7f}, Set.of(3, 4), Set.of());
        Judge.Result r = judge(s, Judge.Mode.REFLECT, 5, 9);
        assertEquals(5, r.rollouts().size());
        assertEquals(2, r.anchor());
        assertEquals(List.of(1, 3, 4), r.reflections().stream().map(Judge.Reflection::rollout).toList());
        assertEquals(List.of(3, 4), r.winners());
        assertEquals(2, r.verdict());
        assertEquals("v1", r.templateVersion());
        assertEquals("ok", r.status());
    }

    @Test
    void reflectFallsBackToTheAnchorAndIgnoresGarbledReflections() {
        Script s = new Script(new int[] {2, 1, 1}, new float[] {-0.9f, -0.1f, -0.5f}, Set.of(), Set.of(2));
        Judge.Result r = judge(s, Judge.Mode.REFLECT, 3, 4);
        assertEquals(1, r.anchor());
        assertTrue(r.winners().isEmpty());
        assertTrue(r.anchorVoted());
        assertEquals(1, r.verdict());
        assertTrue(r.reflections().stream().anyMatch(f -> !f.verdict().parsed()));
    }

    @Test
    void greedyAndVoteBaselines() {
        Script s = new Script(new int[] {2, 1, 2, 0}, new float[] {-1f, -1f, -1f, -1f}, Set.of(), Set.of());
        assertEquals(2, judge(s, Judge.Mode.GREEDY, 4, 0).verdict());
        assertEquals(1, judge(s, Judge.Mode.GREEDY, 4, 0).rollouts().size());
        assertEquals(2, judge(s, Judge.Mode.VOTE, 4, 0).verdict());
        Script none = new Script(new int[] {0, 0}, new float[] {-1f, -1f}, Set.of(), Set.of());
        Judge.Result r = judge(none, Judge.Mode.REFLECT, 2, 0);
        assertNull(r.verdict());
        assertEquals("unparseable", r.status());
        assertTrue(r.reflections().isEmpty());
    }

    @Test
    void aTinyRandomQwen3JudgesDeterministically(@TempDir Path dir) {
        RandomCheckpoint.write(Qwen3Presets.config("tiny", "bfloat16"), DType.BF16, 1, dir);
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model model = Qwen3Model.load(dir)) {
            Judge judge = new Judge(new ModelTextGenerator(model, backend, TOKENIZER), PROMPTS);
            Judge.Options o = new Judge.Options(Judge.Mode.REFLECT, 3, 1.0, 0.1, 5, 12);
            Judge.Result a = judge.judge(List.of(ChatMessage.user("2+2?")), "4", "5", o);
            Judge.Result b = judge.judge(List.of(ChatMessage.user("2+2?")), "4", "5", o);
            assertEquals(3, a.rollouts().size());
            assertEquals(a.rollouts(), b.rollouts(), "same seed, same rollouts");
            assertEquals(a.verdict(), b.verdict());
            for (Judge.Rollout r : a.rollouts()) {
                assertTrue(r.confidence() <= 0, "a log-probability mean: " + r.confidence());
                assertTrue(r.tokens() >= 1 && r.tokens() <= 12, "tokens: " + r.tokens());
                assertEquals(r.tokens(), r.logprobs().length);
                assertEquals(ModelTextGenerator.text(TOKENIZER, r.tokenIds()), r.text(), "the tokens are the text's");
                assertEquals(Confidence.bottomMean(r.logprobs(), 0.1), r.confidence());
            }
        }
    }

    @Test
    void tokenTextShowsSpecialTokensAndUnknownIds() {
        int imEnd = TOKENIZER.tokenId("<|im_end|>").orElseThrow();
        assertEquals("⟨|im_end|⟩", ModelTextGenerator.tokenText(TOKENIZER, imEnd));
        int[] hello = TOKENIZER.encode("Hello world");
        assertEquals("Hello", ModelTextGenerator.tokenText(TOKENIZER, hello[0]));
        assertEquals(" world", ModelTextGenerator.tokenText(TOKENIZER, hello[1]));
        assertEquals("⟨#151935⟩", ModelTextGenerator.tokenText(TOKENIZER, 151_935));
    }
}
