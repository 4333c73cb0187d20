package org.reflectrm.model.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns SFT examples into micro-batches, reshuffled every epoch. Every example stays a separate sequence.
 * <ul>
 *   <li>{@link Mode#PAD}: {@code batch} examples per micro-batch (the last one of an epoch may hold fewer).
 *       "Padding" needs no pad tokens: each sequence keeps its own length.</li>
 *   <li>{@link Mode#PACK}: in shuffled order, each micro-batch takes examples while their total length fits in
 *       {@code batch * maxLen} tokens, then the next one starts (next-fit, so the shuffled order is kept).</li>
 * </ul>
 * Epoch {@code e}'s order is a permutation seeded from {@code (seed, e)}: the same seed gives the same
 * micro-batches on every run, and {@link #epoch} may be called in any order.
 */
public final class SftBatcher {

    /** How examples are grouped into micro-batches. */
    public enum Mode { PAD, PACK }

    private final List<SftExample> examples;
    private final Mode mode;
    private final int batch;
    private final int maxLen;
    private final long seed;

    /**
     * @param batch  examples per micro-batch (PAD), or the budget in units of {@code maxLen} tokens (PACK)
     * @param maxLen the longest example allowed, in tokens
     * @throws IllegalArgumentException if {@code batch < 1}, {@code maxLen < 2}, or an example is longer than
     *                                  {@code maxLen} or shorter than 2 tokens
     */
    public SftBatcher(List<SftExample> examples, Mode mode, int batch, int maxLen, long seed) {
        this.examples = List.copyOf(examples);
        this.mode = Objects.requireNonNull(mode, "mode");
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        if (maxLen < 2) {
            throw new IllegalArgumentException("maxLen must be at least 2, got " + maxLen);
        }
        for (SftExample e : this.examples) {
            if (e.length() > maxLen || e.length() < 2) {
                throw new IllegalArgumentException("example " + e.id() + " has " + e.length()
                        + " tokens; the batcher takes 2 to " + maxLen);
            }
        }
        this.batch = batch;
        this.maxLen = maxLen;
        this.seed = seed;
    }

    public int exampleCount() {
        return examples.size();
    }

    /** The micro-batches of epoch {@code epoch} (0-based): the examples in that epoch's shuffled order. */
    public List<MicroBatch> epoch(int epoch) {
        int[] perm = Shuffle.permutation(examples.size(), Shuffle.derive(seed, epoch));
        List<SftExample> order = new ArrayList<>(examples.size());
        for (int i : perm) {
            order.add(examples.get(i));
        }
        return group(order);
    }

    /** The micro-batches of the examples in their given order, unshuffled (for evaluation). */
    public List<MicroBatch> inOrder() {
        return group(examples);
    }

    private List<MicroBatch> group(List<SftExample> order) {
        List<MicroBatch> out = new ArrayList<>();
        List<SftExample> cur = new ArrayList<>();
        long budget = (long) batch * maxLen;
        long used = 0;
        for (SftExample e : order) {
            boolean full = mode == Mode.PAD ? cur.size() == batch : used + e.length() > budget;
            if (full) {
                out.add(MicroBatch.of(cur));
                cur.clear();
                used = 0;
            }
            cur.add(e);
            used += e.length();
        }
        if (!cur.isEmpty()) {
            out.add(MicroBatch.of(cur));
        }
        return out;
    }
}
