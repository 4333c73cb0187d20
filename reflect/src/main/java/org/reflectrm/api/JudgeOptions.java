package org.reflectrm.api;

import org.reflectrm.model.judge.Judge;

/**
 * How to judge. Immutable; change a field with the {@code with…} methods.
 *
 * @param mode           greedy, vote or reflect
 * @param rollouts       sampled analyses for vote and reflect (reflect needs at least 2)
 * @param temperature    sampling temperature of the rollouts (positive unless greedy)
 * @param bottomFraction a rollout's confidence is the mean log-probability of this lowest fraction
 *                       of its tokens, in (0, 1]
 * @param seed           seed of sampling and of the reflections' presentation order
 * @param maxNewTokens   the longest analysis, in tokens
 * @param bothOrders     also judge with the responses swapped; the verdict is then the one both
 *                       orders give (see {@link Judgment#status()})
 */
public record JudgeOptions(Mode mode, int rollouts, double temperature, double bottomFraction, long seed,
                           int maxNewTokens, boolean bothOrders) {
    public JudgeOptions {
        if (mode == null) {
            throw new IllegalArgumentException("mode must be given");
        }
        // The engine checks the rest when judging, with the same messages as the command line.
    }

    /**
     * These options, with every value checked now rather than when judging (the same checks and
     * messages: a {@link org.reflectrm.model.BadInputException} naming the value), so a caller can
     * refuse bad settings before it opens a model.
     */
    public JudgeOptions validated() {
        engine();
        return this;
    }

    /** The engine's form of these options (which checks them). */
    Judge.Options engine() {
        Judge.Mode m = switch (mode) {
            case GREEDY -> Judge.Mode.GREEDY;
            case VOTE -> Judge.Mode.VOTE;
            case REFLECT -> Judge.Mode.REFLECT;
        };
        return new Judge.Options(m, rollouts, temperature, bottomFraction, seed, maxNewTokens);
    }

    /** The command line's defaults: reflect, 8 rollouts, temperature 1, bottom 10%, seed 0, 1024 tokens, one order. */
    public static JudgeOptions defaults() {
        return new JudgeOptions(Mode.REFLECT, 8, 1.0, 0.1, 0, 1024, false);
    }

    public JudgeOptions withMode(Mode m) {
        return new JudgeOptions(m, rollouts, temperature, bottomFraction, seed, maxNewTokens, bothOrders);
    }

    public JudgeOptions withRollouts(int n) {
        return new JudgeOptions(mode, n, temperature, bottomFraction, seed, maxNewTokens, bothOrders);
    }

    public JudgeOptions withTemperature(double t) {
        return new JudgeOptions(mode, rollouts, t, bottomFraction, seed, maxNewTokens, bothOrders);
    }

    public JudgeOptions withBottomFraction(double f) {
        return new JudgeOptions(mode, rollouts, temperature, f, seed, maxNewTokens, bothOrders);
    }

    public JudgeOptions withSeed(long s) {
        return new JudgeOptions(mode, rollouts, temperature, bottomFraction, s, maxNewTokens, bothOrders);
    }

    public JudgeOptions withMaxNewTokens(int k) {
        return new JudgeOptions(mode, rollouts, temperature, bottomFraction, seed, k, bothOrders);
    }

    public JudgeOptions withBothOrders(boolean both) {
        return new JudgeOptions(mode, rollouts, temperature, bottomFraction, seed, maxNewTokens, both);
    }
}
