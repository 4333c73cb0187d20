package org.reflectrm.model.judge;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * Judges one pair in one presentation order, in one of three modes: {@code greedy} (one
 * analysis), {@code vote} (majority of N sampled analyses) or {@code reflect} (ReflectRM's
 * two-stage self-reflection, see {@link TwoStage}). Every analysis, verdict and confidence is
 * kept in the result. The N rollouts are one batched generation with their common prompt
 * prefilled once, and so are the N−1 reflections.
 */
public final class Judge {
    public enum Mode { GREEDY, VOTE, REFLECT }

    /** Settings; {@code seed} fixes sampling and the reflections' presentation order. */
    public record Options(Mode mode, int rollouts, double temperature, double bottomFraction, long seed, int maxNewTokens) {
        public Options {
            if (rollouts < 1 || (mode == Mode.REFLECT && rollouts < 2)) {
                throw new BadInputException("--rollouts must be at least " + (mode == Mode.REFLECT ? 2 : 1));
            }
            if (!(temperature > 0) && mode != Mode.GREEDY) {
                throw new BadInputException("--temperature must be positive for sampled rollouts");
            }
            if (!(bottomFraction > 0 && bottomFraction <= 1)) {
                throw new BadInputException("--bottom-frac must be in (0, 1]");
            }
            if (maxNewTokens < 1) {
                throw new BadInputException("--max-new-tokens must be at least 1");
            }
        }

        public static Options defaults(Mode mode) {
            return new Options(mode, 8, 1.0, 0.1, 0, 1024);
        }
    }

    /** One stage-1 analysis. */
    public record Rollout(String text, Verdict verdict, double confidence) {
    }

    /** One stage-2 comparison of rollout {@code rollout} with the anchor. */
    public record Reflection(int rollout, boolean rolloutFirst, String text, Verdict verdict, boolean rolloutWon) {
    }

    /** The judgment: verdict 1 (first shown response), 2, or null (unparseable), with everything behind it. */
    public record Result(Integer verdict, Mode mode, String templateVersion, List<Rollout> rollouts, int anchor,
                         List<Reflection> reflections, List<Integer> winners, boolean anchorVoted,
                         long rolloutNanos, long reflectionNanos) {
        public String status() {
            return verdict == null ? "unparseable" : "ok";
        }
    }

    private final TextGenerator model;
    private final JudgePrompts prompts;

    public Judge(TextGenerator model, JudgePrompts prompts) {
        this.model = model;
        this.prompts = prompts;
    }

    public Result judge(List<ChatMessage> conversation, String response1, String response2, Options o) {
        int[] prompt = prompts.response(conversation, response1, response2);
        boolean greedy = o.mode() == Mode.GREEDY;
        int n = greedy ? 1 : o.rollouts();
        List<int[]> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(prompt);
        }
        long t0 = System.nanoTime();
        List<TextGenerator.Output> outs = model.generate(batch, greedy ? 0 : o.temperature(), o.seed(), o.maxNewTokens());
        long rolloutNanos = System.nanoTime() - t0;
        List<Rollout> rollouts = new ArrayList<>();
        List<TwoStage.Rollout> scored = new ArrayList<>();
        for (TextGenerator.Output out : outs) {
            Verdict v = Verdict.parse(out.text(), Verdict.Kind.RESPONSE);
            double confidence = Confidence.bottomMean(out.logprobs(), o.bottomFraction());
            rollouts.add(new Rollout(out.text(), v, confidence));
            scored.add(new TwoStage.Rollout(v, confidence));
        }
        String version = prompts.template().version();
        if (o.mode() != Mode.REFLECT) {
            Integer verdict = greedy ? rollouts.getFirst().verdict().choice() : TwoStage.vote(scored);
            return new Result(verdict, o.mode(), version, rollouts, -1, List.of(), List.of(), false, rolloutNanos, 0);
        }
        int anchor = TwoStage.anchor(scored);
        List<TwoStage.Comparison> plan = TwoStage.plan(scored, anchor, o.seed());
        List<int[]> reflectionPrompts = new ArrayList<>();
        for (TwoStage.Comparison c : plan) {
            String mine = JudgePrompts.critique(rollouts.get(c.rollout()).verdict());
            String anchors = JudgePrompts.critique(rollouts.get(anchor).verdict());
            reflectionPrompts.add(c.rolloutFirst()
                    ? prompts.analysis(conversation, response1, response2, mine, anchors)
                    : prompts.analysis(conversation, response1, response2, anchors, mine));
        }
        List<Verdict> verdicts = new ArrayList<>();
        List<Reflection> reflections = new ArrayList<>();
        long t1 = System.nanoTime();
        List<TextGenerator.Output> reflected = reflectionPrompts.isEmpty() ? List.of()
                : model.generate(reflectionPrompts, 0, o.seed(), o.maxNewTokens());
        long reflectionNanos = System.nanoTime() - t1;
        for (int k = 0; k < plan.size(); k++) {
            Verdict v = Verdict.parse(reflected.get(k).text(), Verdict.Kind.CRITIQUE);
            verdicts.add(v);
            TwoStage.Comparison c = plan.get(k);
            reflections.add(new Reflection(c.rollout(), c.rolloutFirst(), reflected.get(k).text(), v,
                    v.parsed() && v.choice() == c.rolloutSlot()));
        }
        TwoStage.Decision d = TwoStage.decide(scored, anchor, plan, verdicts);
        return new Result(d.verdict(), o.mode(), version, rollouts, d.anchor(), reflections, d.winners(), d.anchorVoted(),
                rolloutNanos, reflectionNanos);
    }
}
