package org.reflectrm.model.judge;

import java.util.List;

/**
 * What the judge needs from a language model: continue a batch of prompts (token ids) and
 * return each continuation as text with its per-token log-probabilities. The real one runs a
 * Qwen3 model ({@link ModelTextGenerator}); tests script one.
 */
public interface TextGenerator {
    record Output(String text, float[] logprobs) {
    }

    /**
     * Continues every prompt; {@code temperature} 0 means greedy. Sequence {@code i} samples
     * from a stream seeded by {@code seed} and {@code i}.
     */
    List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens);
}
