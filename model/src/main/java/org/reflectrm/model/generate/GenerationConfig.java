package org.reflectrm.model.generate;

import java.util.Set;

/**
 * What to generate: at most {@code maxNewTokens} tokens per sequence, stopping early after any
 * token in {@code stopTokens} (which is kept in the output, as transformers keeps EOS).
 * Sequence i of a batch draws from a random stream seeded by {@code seed} and i, so a seeded run
 * is reproducible.
 */
public record GenerationConfig(int maxNewTokens, SamplingParams sampling, long seed, Set<Integer> stopTokens) {
    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        stopTokens = Set.copyOf(stopTokens);
    }
}
