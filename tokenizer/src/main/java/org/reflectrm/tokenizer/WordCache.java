package org.reflectrm.tokenizer;

/**
 * Remembers the BPE result of recent words, looked up by a range of a string so that a hit allocates
 * nothing. It is a fixed-size two-way set-associative table: a new word evicts an older word from its set,
 * so memory stays bounded with no clearing pass. Safe for concurrent use without locks: entries are
 * immutable (final fields, so a thread that sees an entry sees it whole), a lost race only loses a cache
 * entry, and a reader that sees an older entry just misses.
 */
final class WordCache {
    /** Longer words are rare and would crowd out useful entries (HF uses the same cut-off). */
    static final int MAX_WORD_LENGTH = 256;

    private static final class Entry {
        final String word;
        final int hash;
        final int[] ids;

        Entry(String word, int hash, int[] ids) {
            this.word = word;
            this.hash = hash;
            this.ids = ids;
        }
    }

    private final Entry[] slots;
    private final int mask;

    /** A cache of about {@code capacity} words (rounded up to a power of two). */
    WordCache(int capacity) {
        int size = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
        slots = new Entry[size];
        mask = size - 2; // index of the first slot of a two-slot set
    }

    static int hash(String text, int start, int end) {
        int h = 0;
        for (int i = start; i < end; i++) {
            h = 31 * h + text.charAt(i);
        }
        return h ^ (h >>> 15) ^ (h >>> 7);
    }

    /** The ids cached for {@code text[start, end)}, or null. */
    int[] get(String text, int start, int end, int hash) {
        int set = (hash << 1) & mask;
        Entry e = slots[set];
        if (e != null && e.hash == hash && e.word.length() == end - start
                && e.word.regionMatches(0, text, start, end - start)) {
            return e.ids;
        }
        e = slots[set + 1];
        if (e != null && e.hash == hash && e.word.length() == end - start
                && e.word.regionMatches(0, text, start, end - start)) {
            return e.ids;
        }
        return null;
    }

    void put(String word, int hash, int[] ids) {
        if (word.length() > MAX_WORD_LENGTH) {
            return;
        }
        int set = (hash << 1) & mask;
        // The newest entry goes first; the one it displaces moves to the second slot.
        Entry first = slots[set];
        slots[set + 1] = first;
        slots[set] = new Entry(word, hash, ids);
    }

    /** Entries held now (for tests). */
    int size() {
        int n = 0;
        for (Entry e : slots) {
            n += e == null ? 0 : 1;
        }
        return n;
    }

    /** Slots in the table: the most words it can hold. */
    int capacity() {
        return slots.length;
    }
}
