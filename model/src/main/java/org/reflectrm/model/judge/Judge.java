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

    /**
     * One stage-1 analysis: the generated text, its verdict and confidence, and the generated
     * token ids (a stop token included) with each one's log-probability, {@code logprobs[i]} for
     * {@code tokenIds[i]} (what a judgment page tints). Equal rollouts have equal arrays.
     */
    public record Rollout(String text, Verdict verdict, double confidence, int[] tokenIds, float[] logprobs) {
        public Rollout {
            if (tokenIds.length != logprobs.length) {
                throw new IllegalArgumentException(tokenIds.length + " tokens but " + logprobs.length + " log-probabilities");
            }
        }

        /** How many tokens it took to generate (a stop token included). */
        public int tokens() {
            return tokenIds.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Rollout r && text.equals(r.text) && verdict.equals(r.verdict)
                    && Double.compare(confidence, r.confidence) == 0 && java.util.Arrays.equals(tokenIds, r.tokenIds)
                    && java.util.Arrays.equals(logprobs, r.logprobs);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(text, verdict, confidence, java.util.Arrays.hashCode(tokenIds),
                    java.util.Arrays.hashCode(logprobs));
        }

        @Override
        public String toString() {
            return "Rollout[text=" + text + ", verdict=" + verdict + ", confidence=" + confidence + ", tokens="
                    + tokenIds.length + "]";
        }
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

    /** One pair to judge: the conversation and the two responses, in the order shown to the model. */
    public record Item(List<ChatMessage> conversation, String response1, String response2) {
    }

    public Result judge(List<ChatMessage> conversation, String response1, String response2, Options o) {
        return judgeAll(List.of(new Item(conversation, response1, response2)), o).getFirst();
    }

    /**
     * The self-reflection prompt comparing rollout {@code rollout}'s critique with the anchor's,
     * the rollout's shown first when {@code rolloutFirst}.
     */
    public int[] reflectionPrompt(Item item, List<Rollout> rollouts, int anchor, int rollout, boolean rolloutFirst) {
        String mine = JudgePrompts.critique(rollouts.get(rollout).verdict());
        String theirs = JudgePrompts.critique(rollouts.get(anchor).verdict());
        return rolloutFirst
                ? prompts.analysis(item.conversation(), item.response1(), item.response2(), mine, theirs)
                : prompts.analysis(item.conversation(), item.response1(), item.response2(), theirs, mine);
    }

    /**
     * Judges several pairs at once, each as {@link #judge} would: all pairs' rollouts run as one
     * batch of generation, then all their reflections as another, so a GPU decodes one wide
     * batch. Each result carries the batch's stage times. Results agree with one-at-a-time
     * judging up to float rounding.
     */
    public List<Result> judgeAll(List<Item> items, Options o) {
        long[] seeds = new long[items.size()];
        java.util.Arrays.fill(seeds, o.seed());
        return judgeAll(items, o, seeds);
    }

    /**
     * {@link #judgeAll(List, Options)} with a seed per item in place of the options' seed: item k
     * is judged as {@link #judge} with seed {@code seeds[k]} would judge it. Sampling many pairs
     * for training data wants this, so that pairs do not share their random streams.
     */
    public List<Result> judgeAll(List<Item> items, Options o, long[] seeds) {
        if (seeds.length != items.size()) {
            throw new IllegalArgumentException(items.size() + " items but " + seeds.length + " seeds");
        }
        boolean greedy = o.mode() == Mode.GREEDY;
        int n = greedy ? 1 : o.rollouts();
        List<List<int[]>> rolloutPrompts = new ArrayList<>();
        for (Item item : items) {
            int[] prompt = prompts.response(item.conversation(), item.response1(), item.response2());
            rolloutPrompts.add(java.util.Collections.nCopies(n, prompt));
        }
        long t0 = System.nanoTime();
        List<List<TextGenerator.Output>> outs = model.generateGroups(rolloutPrompts, greedy ? 0 : o.temperature(),
                seeds, o.maxNewTokens());
        long rolloutNanos = System.nanoTime() - t0;
        String version = prompts.template().version();
        List<List<Rollout>> rollouts = new ArrayList<>();
        List<List<TwoStage.Rollout>> scored = new ArrayList<>();
        for (List<TextGenerator.Output> itemOuts : outs) {
            List<Rollout> mine = new ArrayList<>();
            List<TwoStage.Rollout> mineScored = new ArrayList<>();
            for (TextGenerator.Output out : itemOuts) {
                Verdict v = Verdict.parse(out.text(), Verdict.Kind.RESPONSE);
                double confidence = Confidence.bottomMean(out.logprobs(), o.bottomFraction());
                mine.add(new Rollout(out.text(), v, confidence, out.tokens(), out.logprobs()));
                mineScored.add(new TwoStage.Rollout(v, confidence));
            }
            rollouts.add(mine);
            scored.add(mineScored);
        }
        List<Result> results = new ArrayList<>();
        if (o.mode() != Mode.REFLECT) {
            for (int k = 0; k < items.size(); k++) {
                Integer verdict = greedy ? rollouts.get(k).getFirst().verdict().choice() : TwoStage.vote(scored.get(k));
                results.add(new Result(verdict, o.mode(), version, rollouts.get(k), -1, List.of(), List.of(), false,
                        rolloutNanos, 0));
            }
            return results;
        }
        List<Integer> anchors = new ArrayList<>();
        List<List<TwoStage.Comparison>> plans = new ArrayList<>();
        List<List<int[]>> reflectionPrompts = new ArrayList<>();
        for (int k = 0; k < items.size(); k++) {
            Item item = items.get(k);
            int anchor = TwoStage.anchor(scored.get(k));
            List<TwoStage.Comparison> plan = TwoStage.plan(scored.get(k), anchor, seeds[k]);
            List<int[]> group = new ArrayList<>();
            for (TwoStage.Comparison c : plan) {
                group.add(reflectionPrompt(item, rollouts.get(k), anchor, c.rollout(), c.rolloutFirst()));
            }
            anchors.add(anchor);
            plans.add(plan);
            reflectionPrompts.add(group);
        }
        long t1 = System.nanoTime();
        boolean any = reflectionPrompts.stream().anyMatch(g -> !g.isEmpty());
        List<List<TextGenerator.Output>> reflected = any
                ? model.generateGroups(reflectionPrompts, 0, seeds, o.maxNewTokens()) : null;
        long reflectionNanos = System.nanoTime() - t1;
        for (int k = 0; k < items.size(); k++) {
            List<TwoStage.Comparison> plan = plans.get(k);
            List<Verdict> verdicts = new ArrayList<>();
            List<Reflection> reflections = new ArrayList<>();
            for (int r = 0; r < plan.size(); r++) {
                TextGenerator.Output out = reflected.get(k).get(r);
                Verdict v = Verdict.parse(out.text(), Verdict.Kind.CRITIQUE);
                verdicts.add(v);
                TwoStage.Comparison c = plan.get(r);
                reflections.add(new Reflection(c.rollout(), c.rolloutFirst(), out.text(), v,
                        v.parsed() && v.choice() == c.rolloutSlot()));
            }
            TwoStage.Decision d = TwoStage.decide(scored.get(k), anchors.get(k), plan, verdicts);
            results.add(new Result(d.verdict(), o.mode(), version, rollouts.get(k), d.anchor(), reflections, d.winners(),
                    d.anchorVoted(), rolloutNanos, reflectionNanos));
        }
        return results;
    }
}
