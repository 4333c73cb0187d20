package org.reflectrm.tokenizer;

import java.util.Arrays;

/**
 * BPE merges as a primitive open-addressing hash map from a pair of token ids to (rank, merged id).
 * A {@code HashMap<Pair, ...>} would box every lookup; the merge loop does one lookup per adjacent pair.
 */
final class MergeTable {
    private static final long EMPTY = -1L;
    private final long[] keys;
    private final long[] values;
    private final int mask;
    private int size;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY);
        mask = capacity - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40) & mask;
    }

    /** This table, or a larger copy of it when it would become more than half full with {@code count} entries. */
    MergeTable withRoomFor(int count) {
        if (count * 2L <= keys.length) {
            return this;
        }
        MergeTable bigger = new MergeTable(keys.length);
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                long v = values[i];
                bigger.put((int) (keys[i] >>> 32), (int) keys[i], rank(v), mergedId(v));
            }
        }
        return bigger;
    }

    /** Adds or replaces a merge; like HF, a pair listed twice keeps the later rank. */
    void put(int left, int right, int rank, int mergedId) {
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != EMPTY && keys[i] != k) {
            i = (i + 1) & mask;
        }
        if (keys[i] == EMPTY) {
            if (++size * 2 > keys.length) {
                throw new IllegalStateException("merge table sized too small");
            }
            keys[i] = k;
        }
        values[i] = ((long) rank << 32) | (mergedId & 0xFFFFFFFFL);
    }

    /** (rank << 32 | mergedId) for the pair, or -1 if the pair does not merge. */
    long get(int left, int right) {
        long k = key(left, right);
        int i = slot(k);
        long found;
        while ((found = keys[i]) != EMPTY) {
            if (found == k) {
                return values[i];
            }
            i = (i + 1) & mask;
        }
        return -1L;
    }

    static int rank(long entry) {
        return (int) (entry >>> 32);
    }

    static int mergedId(long entry) {
        return (int) entry;
    }
}
