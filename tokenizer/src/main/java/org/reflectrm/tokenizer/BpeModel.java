package org.reflectrm.tokenizer;

import java.util.Arrays;
import java.util.Map;

/**
 * HF's {@code BPE} model: splits a word into characters (with the optional continuing-subword prefix
 * and end-of-word suffix), then repeatedly merges the adjacent pair of lowest merge rank (leftmost
 * first on ties) until no adjacent pair has a rank. Characters missing from the vocabulary become the
 * unknown token (consecutive ones fused into one with {@code fuse_unk}); without an unknown token they
 * are an error, as in HF.
 *
 * <p>Immutable apart from its word cache, so one instance serves many threads.
 */
final class BpeModel {
    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final String prefix;
    private final String suffix;
    private final boolean ignoreMerges;
    private final String unkToken; // null: none
    private final boolean fuseUnk;
    private final WordCache cache;
    /** Ids of single characters below {@link #DIRECT_CHARS} (all byte-level characters), -1 if absent. */
    private final int[] directCharIds;
    private static final int DIRECT_CHARS = 0x200;
    /** Id of each byte's byte-level character. */
    private final int[] byteIds = new int[256];
    /** Whether every byte's character is in the vocabulary and no prefix/suffix applies: ids come from bytes. */
    private final boolean plainByteIds;

    BpeModel(Map<String, Integer> vocab, MergeTable merges, String prefix, String suffix, boolean ignoreMerges,
             String unkToken, boolean fuseUnk, int cacheCapacity) {
        this.vocab = vocab;
        this.merges = merges;
        this.prefix = prefix;
        this.suffix = suffix;
        this.ignoreMerges = ignoreMerges;
        this.unkToken = unkToken;
        this.fuseUnk = fuseUnk;
        this.cache = new WordCache(cacheCapacity);
        this.directCharIds = new int[DIRECT_CHARS];
        for (int c = 0; c < DIRECT_CHARS; c++) {
            Integer id = vocab.get(String.valueOf((char) c));
            directCharIds[c] = id == null ? -1 : id;
        }
        boolean allBytes = prefix.isEmpty() && suffix.isEmpty();
        for (int b = 0; b < 256; b++) {
            byteIds[b] = directCharIds[ByteLevelAlphabet.charOf(b)];
            allBytes &= byteIds[b] >= 0;
        }
        plainByteIds = allBytes;
    }

    /**
     * Appends the ids of the word {@code text[start, end)} to {@code out}. With {@code mapBytes} the word is
     * raw text whose UTF-8 bytes the model first rewrites as byte-level characters (the deferred last step
     * of a {@code ByteLevel} pre-tokenizer); the cache then holds raw words, so a hit skips the mapping.
     */
    void tokenize(String text, int start, int end, boolean mapBytes, IntList out) {
        if (start == end) {
            return;
        }
        if (end - start == 1 && mapBytes && text.charAt(start) < 0x80 && plainByteIds) {
            out.add(byteIds[text.charAt(start)]); // one ASCII byte: no merge can apply
            return;
        }
        int hash = WordCache.hash(text, start, end);
        int[] ids = cache.get(text, start, end, hash);
        if (ids == null) {
            String word = text.substring(start, end);
            ids = compute(word, mapBytes);
            cache.put(word, hash, ids);
        }
        out.addAll(ids);
    }

    private int[] compute(String word, boolean mapBytes) {
        if (mapBytes && plainByteIds && !ignoreMerges) {
            // Byte-level fast path: each UTF-8 byte's character is a vocabulary entry of its own.
            byte[] bytes = Utf8.encode(word);
            int[] ids = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                ids[i] = byteIds[bytes[i] & 0xFF];
            }
            return merge(ids);
        }
        String symbols = mapBytes ? ByteLevelAlphabet.encode(word) : word;
        if (ignoreMerges) {
            Integer whole = vocab.get(symbols);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        return merge(initialSymbols(symbols));
    }

    /** One id per character of {@code word}, the unknown-token rules applied. */
    private int[] initialSymbols(String word) {
        int n = word.length();
        int[] ids = new int[n];
        int count = 0;
        boolean plain = prefix.isEmpty() && suffix.isEmpty();
        boolean pendingUnk = false;
        int unkId = -1;
        for (int i = 0; i < n; ) {
            int cp = word.codePointAt(i);
            int next = i + Character.charCount(cp);
            int id;
            if (plain && cp < DIRECT_CHARS) {
                id = directCharIds[cp];
            } else {
                String symbol = new String(Character.toChars(cp));
                if (!prefix.isEmpty() && i > 0) {
                    symbol = prefix + symbol;
                }
                if (!suffix.isEmpty() && next == n) {
                    symbol = symbol + suffix;
                }
                Integer found = vocab.get(symbol);
                id = found == null ? -1 : found;
            }
            if (id >= 0) {
                if (pendingUnk) {
                    ids[count++] = unkId;
                    pendingUnk = false;
                }
                ids[count++] = id;
            } else {
                if (unkId < 0) {
                    unkId = unknownId(cp);
                }
                if (pendingUnk && !fuseUnk) {
                    ids[count++] = unkId;
                }
                pendingUnk = true;
            }
            i = next;
        }
        if (pendingUnk) {
            ids[count++] = unkId;
        }
        return count == n ? ids : Arrays.copyOf(ids, count);
    }

    private int unknownId(int cp) {
        if (unkToken == null) {
            throw new TokenizerException(String.format(
                    "character U+%04X is not in the BPE vocabulary and the model has no unk_token", cp));
        }
        Integer id = vocab.get(unkToken);
        if (id == null) {
            throw new TokenizerException("the BPE unk_token \"" + unkToken + "\" is not in the vocabulary");
        }
        return id;
    }

    /**
     * Applies merges lowest rank first, leftmost first among equal ranks: {@link #mergeShort} for short
     * words, {@link #mergeWithHeap} for long ones (tests check that both give the same result).
     */
    private int[] merge(int[] ids) {
        if (ids.length < 2) {
            return ids;
        }
        return ids.length <= SHORT_WORD ? mergeShort(ids) : mergeWithHeap(ids);
    }

    /** Byte-level symbol ids of a word's UTF-8 bytes (for tests of the two merge loops). */
    int[] byteSymbols(byte[] bytes) {
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = byteIds[bytes[i] & 0xFF];
        }
        return ids;
    }

    /**
     * Heap-based merging for long words. A binary heap holds candidate pairs keyed by (rank, position of
     * the left symbol); entries made stale by an earlier merge are skipped when popped. Symbols form a
     * linked list over their original positions. Modifies {@code ids}.
     */
    int[] mergeWithHeap(int[] ids) {
        int n = ids.length;
        if (n < 2) {
            return ids;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] gone = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        long[] heap = new long[n];
        int heapSize = 0;
        for (int i = 0; i + 1 < n; i++) {
            long entry = merges.get(ids[i], ids[i + 1]);
            if (entry >= 0) {
                heapSize = push(heap, heapSize, candidate(MergeTable.rank(entry), i));
            }
        }
        int alive = n;
        while (heapSize > 0) {
            long top = heap[0];
            heapSize = pop(heap, heapSize);
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[pos];
            if (gone[pos] || right < 0) {
                continue;
            }
            long entry = merges.get(ids[pos], ids[right]);
            if (entry < 0 || MergeTable.rank(entry) != rank) {
                continue; // one of the two symbols changed since this candidate was queued
            }
            ids[pos] = MergeTable.mergedId(entry);
            gone[right] = true;
            alive--;
            int after = next[right];
            next[pos] = after;
            if (after >= 0) {
                prev[after] = pos;
            }
            int before = prev[pos];
            if (heapSize + 2 > heap.length) {
                heap = Arrays.copyOf(heap, heap.length * 2);
            }
            if (before >= 0) {
                long e = merges.get(ids[before], ids[pos]);
                if (e >= 0) {
                    heapSize = push(heap, heapSize, candidate(MergeTable.rank(e), before));
                }
            }
            if (after >= 0) {
                long e = merges.get(ids[pos], ids[after]);
                if (e >= 0) {
                    heapSize = push(heap, heapSize, candidate(MergeTable.rank(e), pos));
                }
            }
        }
        int[] result = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            result[k++] = ids[i];
        }
        return result;
    }

    /** Up to this many symbols a plain scan for the best pair beats the heap. */
    private static final int SHORT_WORD = 24;

    /**
     * The same merge order as {@link #merge} for short words: scan the pair ranks for the lowest (the first
     * one wins ties, i.e. the leftmost), merge it in place, update the two neighbouring ranks, repeat.
     */
    int[] mergeShort(int[] ids) {
        int n = ids.length;
        if (n < 2) {
            return ids;
        }
        long[] pairs = new long[n - 1]; // merge entry of (ids[i], ids[i + 1]), -1 when they do not merge
        for (int i = 0; i + 1 < n; i++) {
            pairs[i] = merges.get(ids[i], ids[i + 1]);
        }
        while (n > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                long e = pairs[i];
                if (e >= 0 && MergeTable.rank(e) < bestRank) {
                    bestRank = MergeTable.rank(e);
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            ids[best] = MergeTable.mergedId(pairs[best]);
            System.arraycopy(ids, best + 2, ids, best + 1, n - best - 2);
            System.arraycopy(pairs, best + 1, pairs, best, n - best - 2);
            n--;
            if (best > 0) {
                pairs[best - 1] = merges.get(ids[best - 1], ids[best]);
            }
            if (best + 1 < n) {
                pairs[best] = merges.get(ids[best], ids[best + 1]);
            }
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    private static long candidate(int rank, int pos) {
        return ((long) rank << 32) | pos;
    }

    private static int push(long[] heap, int size, long value) {
        int i = size;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= value) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = value;
        return size + 1;
    }

    private static int pop(long[] heap, int size) {
        long last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= last) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        if (size > 0) {
            heap[i] = last;
        }
        return size;
    }
}
