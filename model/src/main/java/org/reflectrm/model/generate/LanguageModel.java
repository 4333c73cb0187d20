package org.reflectrm.model.generate;

import java.util.List;
import org.reflectrm.model.qwen3.Qwen3Config;

/**
 * What generation needs from a model: next-token logits for a batch of sequences that each
 * continue their own KV cache. {@link Qwen3LanguageModel} is the one model definition on any
 * device, fused on a GPU, with recorded decode steps on CUDA.
 */
public interface LanguageModel {

    Qwen3Config config();

    /** Where it computes, for people: e.g. {@code cpu (2 threads)}. */
    String device();

    /**
     * Bytes of device memory a batch's KV caches and activations may take, beyond the weights:
     * {@link Generator} runs a batch that would need more as several passes. Unlimited where
     * memory is not the limit (the CPU).
     */
    default long batchMemoryBudget() {
        return Long.MAX_VALUE;
    }

    /** Starts a run of forwards whose scratch memory is freed on close. */
    Session open();

    /** The cached keys and values of one sequence. */
    interface Cache extends AutoCloseable {
        /** Positions filled. */
        int length();

        int capacity();

        @Override
        void close();
    }

    /** Forwards with shared scratch memory; one thread at a time. */
    interface Session extends AutoCloseable {
        Cache newCache(int capacity);

        /**
         * Runs each sequence's new {@code tokens} through the model, appending their keys and
         * values to the matching cache, and returns the logits of each sequence's last token:
         * {@code [sequences × vocab]}, row-major.
         */
        float[] forward(List<int[]> tokens, List<Cache> caches);

        /**
         * A cache of {@code capacity} positions that starts with the first {@code prefixLength}
         * positions of {@code prefix}: shared with it where the model can (the CPU keeps them
         * once for all sequences), copied otherwise. {@code prefix} must stay open while the new
         * cache is used.
         */
        Cache newCache(int capacity, Cache prefix, int prefixLength);

        @Override
        void close();
    }
}
