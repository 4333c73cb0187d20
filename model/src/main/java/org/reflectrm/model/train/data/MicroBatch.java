package org.reflectrm.model.train.data;

import java.util.List;

/**
 * Sequences the trainer runs in one forward/backward pass. Each sequence is a separate example of its own length
 * (the model runs variable-length sequences natively and never attends across them), so there are no pad tokens.
 *
 * @param sequences    token ids, one array per example ({@code T_i} tokens)
 * @param predictMasks per sequence, length {@code T_i - 1}: {@code mask[t]} = position {@code t}'s prediction of
 *                     token {@code t+1} is in the loss
 * @param ids          the examples' ids, for logs
 * @param targetTokens number of true entries over all predict masks (the loss normaliser)
 */
public record MicroBatch(List<int[]> sequences, List<boolean[]> predictMasks, List<String> ids, int targetTokens) {

    public MicroBatch {
        sequences = List.copyOf(sequences);
        predictMasks = List.copyOf(predictMasks);
        ids = List.copyOf(ids);
        if (sequences.size() != predictMasks.size() || sequences.size() != ids.size()) {
            throw new IllegalArgumentException("sequences, predict masks and ids differ in number");
        }
    }

    /** Builds a micro-batch from examples. */
    static MicroBatch of(List<SftExample> examples) {
        List<int[]> seqs = new java.util.ArrayList<>(examples.size());
        List<boolean[]> masks = new java.util.ArrayList<>(examples.size());
        List<String> ids = new java.util.ArrayList<>(examples.size());
        int targets = 0;
        for (SftExample e : examples) {
            seqs.add(e.tokens());
            masks.add(e.predictMask());
            ids.add(e.id());
            targets += e.targetCount();
        }
        return new MicroBatch(seqs, masks, ids, targets);
    }

    /** Number of sequences. */
    public int size() {
        return sequences.size();
    }

    /** Total tokens over all sequences. */
    public int tokenCount() {
        int n = 0;
        for (int[] s : sequences) {
            n += s.length;
        }
        return n;
    }
}
