package org.reflectrm.model.judge;

import java.util.List;

/**
 * What the judge needs from a language model: continue a batch of prompts (token ids) and
 * return each continuation as text with its tokens and their log-probabilities. The real one runs a
 * Qwen3 model ({@link ModelTextGenerator}); tests script one.
 */
public interface TextGenerator {
    /**
     * One continuation: its text (special tokens left out), the generated token ids (a stop
     * token included) and each token's log-probability, {@code logprobs[i]} for {@code tokens[i]}.
     */
    record Output(String text, int[] tokens, float[] logprobs) {
        public Output {
            if (tokens.length != logprobs.length) {
                throw new IllegalArgumentException(tokens.length + " tokens but " + logprobs.length + " log-probabilities");
            }
        }
    }

    /**
     * Continues every prompt; {@code temperature} 0 means greedy. Sequence {@code i} samples
     * from a stream seeded by {@code seed} and {@code i}.
     */
    List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens);

    /**
     * {@link #generate} for each group, as separate calls with seeds {@code seeds[g]} would; a
     * model may run them as one batch (results then agree up to float rounding). Outputs come
     * per group, in order.
     */
    default List<List<Output>> generateGroups(List<List<int[]>> groups, double temperature, long[] seeds,
                                              int maxNewTokens) {
        List<List<Output>> out = new java.util.ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            List<int[]> group = groups.get(g);
            out.add(group.isEmpty() ? List.of() : generate(group, temperature, seeds[g], maxNewTokens));
        }
        return out;
    }
}
