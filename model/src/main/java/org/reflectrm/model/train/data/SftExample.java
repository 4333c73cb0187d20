package org.reflectrm.model.train.data;

import java.util.Objects;

/**
 * One tokenized SFT conversation.
 *
 * @param id       the record's {@code "id"} field, or {@code "line N"} (N = its 1-based line in the JSONL file)
 * @param tokens   the chat-template rendering's token ids, at most {@code maxLen} of them
 * @param lossMask {@code lossMask[i]}: token {@code i} is a training target (it lies inside an assistant turn);
 *                 same length as {@code tokens}
 */
public record SftExample(String id, int[] tokens, boolean[] lossMask) {

    public SftExample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(lossMask, "lossMask");
        if (tokens.length != lossMask.length) {
            throw new IllegalArgumentException("tokens (" + tokens.length + ") and lossMask (" + lossMask.length
                    + ") differ in length");
        }
    }

    /** Number of tokens {@code T}. */
    public int length() {
        return tokens.length;
    }

    /**
     * The mask in the trainer's convention, length {@code T-1}: position {@code t} predicts token {@code t+1}, so
     * {@code predictMask[t] = lossMask[t+1]} ({@code lossMask[0]} can never be a target).
     */
    public boolean[] predictMask() {
        return predictMask(lossMask);
    }

    /** Number of targets the trainer sees: true entries of {@link #predictMask()}. */
    public int targetCount() {
        int n = 0;
        for (int i = 1; i < lossMask.length; i++) {
            n += lossMask[i] ? 1 : 0;
        }
        return n;
    }

    /** {@code mask[t] = lossMask[t+1]} for {@code t < T-1} (empty for {@code T <= 1}). */
    public static boolean[] predictMask(boolean[] lossMask) {
        boolean[] m = new boolean[Math.max(0, lossMask.length - 1)];
        System.arraycopy(lossMask, 1, m, 0, m.length);
        return m;
    }
}
