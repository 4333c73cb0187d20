package org.reflectrm.tokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;

/**
 * Trains a small byte-level BPE with Qwen3's components (NFC, the Qwen2 split regex, or Llama 3's, then {@code ByteLevel}
 * without its own regex, a {@code ByteLevel} decoder) and writes it in {@code tokenizer.json} format, so that
 * {@link Tokenizer#load} reads it. It follows Hugging Face {@code tokenizers}' {@code BpeTrainer} step by step,
 * with the initial alphabet set to all 256 byte-level characters and {@code min_frequency} 0 by default:
 * special tokens take the first ids, then the alphabet sorted by code point, then one token per merge;
 * each step merges the pair with the highest count, ties going to the smallest pair of ids; training stops
 * at {@code vocabSize} tokens (special tokens included) or when no pair is left. Added tokens (non-special)
 * get ids after the trained vocabulary, as HF's {@code add_tokens} after training gives them.
 *
 * <p>For the same texts and settings the vocabulary, merges and file match HF's (see BpeTrainerTest and
 * make_bpe_trainer_fixture.py). Texts are pre-tokenized as a whole: added and special tokens in the training
 * texts are not split out, as in HF, where the trainer sees only the normalizer and pre-tokenizer.
 */
public final class BpeTrainer {
    /** The Qwen2/Qwen3 split regex, as it appears in {@code tokenizer.json}: every digit its own piece. */
    public static final String QWEN2_SPLIT_REGEX = LlamaStyleSplitter.QWEN2_PATTERN;
    /** Llama 3's split regex: the same, except that runs of up to three digits stay one piece. */
    public static final String LLAMA3_SPLIT_REGEX = LlamaStyleSplitter.LLAMA3_PATTERN;

    private final int vocabSize;
    private final long minFrequency;
    private final List<String> specialTokens;
    private final List<String> addedTokens;
    private final String splitRegex;
    private final PreTokenizer preTokenizer;

    /**
     * @param vocabSize     the size the trained vocabulary grows to, special tokens included (added tokens come
     *                      on top)
     * @param minFrequency  a pair seen fewer times is never merged (HF's {@code min_frequency}; 0 as HF's default)
     * @param specialTokens special tokens, ids 0, 1, ... in this order (e.g. ChatML's)
     * @param addedTokens   non-special added tokens (e.g. {@code <think>}), ids after the trained vocabulary
     */
    public BpeTrainer(int vocabSize, long minFrequency, List<String> specialTokens, List<String> addedTokens) {
        this(vocabSize, minFrequency, specialTokens, addedTokens, QWEN2_SPLIT_REGEX);
    }

    /** As above, with the pre-tokenizer's split regex: {@link #QWEN2_SPLIT_REGEX} or {@link #LLAMA3_SPLIT_REGEX}. */
    public BpeTrainer(int vocabSize, long minFrequency, List<String> specialTokens, List<String> addedTokens,
                      String splitRegex) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be positive: " + vocabSize);
        }
        LlamaStyleSplitter splitter = LlamaStyleSplitter.forRegex(splitRegex);
        if (splitter == null) {
            throw new IllegalArgumentException("the split regex must be Qwen2's or Llama 3's, not " + splitRegex);
        }
        this.vocabSize = vocabSize;
        this.minFrequency = minFrequency;
        this.specialTokens = List.copyOf(specialTokens);
        this.addedTokens = List.copyOf(addedTokens);
        this.splitRegex = splitRegex;
        this.preTokenizer = new PreTokenizer.Sequence(List.of(
                new PreTokenizer.Split(splitter, PreTokenizer.SplitBehavior.ISOLATED, false),
                PreTokenizer.ByteLevel.of(false, false)));
    }

    /** ChatML's special tokens, as Qwen3 has them. */
    public static final List<String> CHATML_SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    /** Qwen3's non-special added tokens that its chat template names. */
    public static final List<String> QWEN3_ADDED = List.of("<think>", "</think>", "<tool_call>", "</tool_call>",
            "<tool_response>", "</tool_response>");

    /** A trainer with ChatML's specials and Qwen3's added tokens. */
    public static BpeTrainer qwen3Style(int vocabSize) {
        return qwen3Style(vocabSize, QWEN2_SPLIT_REGEX);
    }

    /** A trainer with ChatML's specials, Qwen3's added tokens and the given split regex. */
    public static BpeTrainer qwen3Style(int vocabSize, String splitRegex) {
        return new BpeTrainer(vocabSize, 0, CHATML_SPECIALS, QWEN3_ADDED, splitRegex);
    }

    /**
     * A trained BPE.
     *
     * @param vocab       token strings (byte-level characters) by id, special tokens included
     * @param merges      merges in rank order, each {@code {left, right}}
     * @param addedTokens {@code tokenizer.json}'s {@code added_tokens}: the specials, then the added tokens
     * @param splitRegex  the pre-tokenizer's split regex
     */
    public record Result(List<String> vocab, List<String[]> merges, List<AddedToken> addedTokens, String splitRegex) {
        /** The {@code tokenizer.json} text, laid out as Python's {@code json.dump(indent=1, ensure_ascii=False)}. */
        public String toJson() {
            return TokenizerJsonWriter.write(this);
        }

        public void write(Path file) throws IOException {
            Files.writeString(file, toJson(), StandardCharsets.UTF_8);
        }

        /** This BPE loaded as the loader reads the file. */
        public Tokenizer tokenizer() {
            return Tokenizer.fromJson(new ByteArrayInputStream(toJson().getBytes(StandardCharsets.UTF_8)),
                    "trained BPE");
        }
    }

    private static final TextNormalizer NORMALIZER = new TextNormalizer.Unicode(Normalizer.Form.NFC);

    /** HF's queue entry: a pair of ids, its count when queued, and the words it was seen in. */
    private static final class Merge {
        final int left, right;
        long count;
        final Set<Integer> pos;

        Merge(long pair, long count, Set<Integer> pos) {
            this.left = (int) (pair >>> 32);
            this.right = (int) pair;
            this.count = count;
            this.pos = pos;
        }

        long pair() {
            return pairKey(left, right);
        }
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    public Result train(Iterable<String> texts) {
        // Word counts over the pre-tokenized, byte-level-mapped words.
        Map<String, Long> wordCounts = new LinkedHashMap<>();
        for (String text : texts) {
            String normalized = NORMALIZER.normalize(text);
            if (normalized.isEmpty()) {
                continue;
            }
            preTokenizer.preTokenize(normalized, 0, normalized.length(),
                    (t, s, e) -> wordCounts.merge(t.substring(s, e), 1L, Long::sum));
        }

        Map<String, Integer> wordToId = new HashMap<>();
        List<String> idToWord = new ArrayList<>();
        for (String special : specialTokens) {
            if (!wordToId.containsKey(special)) {
                wordToId.put(special, idToWord.size());
                idToWord.add(special);
            }
        }
        // Alphabet: all byte-level characters (HF's initial_alphabet=ByteLevel.alphabet()) and any seen
        // character, sorted by code point.
        TreeSet<Integer> alphabet = new TreeSet<>();
        for (int b = 0; b < 256; b++) {
            alphabet.add((int) ByteLevelAlphabet.charOf(b));
        }
        for (String word : wordCounts.keySet()) {
            word.codePoints().forEach(alphabet::add);
        }
        for (int c : alphabet) {
            String s = Character.toString(c);
            if (!wordToId.containsKey(s)) {
                wordToId.put(s, idToWord.size());
                idToWord.add(s);
            }
        }

        // Words as id sequences.
        int n = wordCounts.size();
        int[][] words = new int[n][];
        int[] lengths = new int[n];
        long[] counts = new long[n];
        int w = 0;
        for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
            int[] ids = e.getKey().codePoints().map(c -> wordToId.get(Character.toString(c))).toArray();
            words[w] = ids;
            lengths[w] = ids.length;
            counts[w] = e.getValue();
            w++;
        }

        // Pair counts and where each pair occurs.
        Map<Long, Long> pairCounts = new HashMap<>();
        Map<Long, Set<Integer>> whereToUpdate = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j + 1 < lengths[i]; j++) {
                long pair = pairKey(words[i][j], words[i][j + 1]);
                pairCounts.merge(pair, counts[i], Long::sum);
                whereToUpdate.computeIfAbsent(pair, k -> new HashSet<>()).add(i);
            }
        }
        // HF's max-heap order: higher count first, then the smaller pair (left id, then right id).
        PriorityQueue<Merge> queue = new PriorityQueue<>((a, b) -> {
            if (a.count != b.count) {
                return Long.compare(b.count, a.count);
            }
            if (a.left != b.left) {
                return Integer.compare(a.left, b.left);
            }
            return Integer.compare(a.right, b.right);
        });
        drainInto(whereToUpdate, pairCounts, queue);

        List<String[]> merges = new ArrayList<>();
        while (wordToId.size() < vocabSize && !queue.isEmpty()) {
            Merge top = queue.poll();
            long current = pairCounts.get(top.pair());
            if (top.count != current) {
                top.count = current;
                queue.add(top);
                continue;
            }
            if (top.count < 1 || minFrequency > top.count) {
                break;
            }
            String partA = idToWord.get(top.left);
            String partB = idToWord.get(top.right);
            String newToken = partA + partB;
            Integer existing = wordToId.get(newToken);
            int newId = existing != null ? existing : idToWord.size();
            if (existing == null) {
                idToWord.add(newToken);
                wordToId.put(newToken, newId);
            }
            merges.add(new String[] {partA, partB});

            for (int i : top.pos) {
                mergeWord(words, lengths, i, top.left, top.right, newId, counts[i], pairCounts, whereToUpdate);
            }
            drainInto(whereToUpdate, pairCounts, queue);
        }

        List<AddedToken> added = new ArrayList<>();
        for (String special : specialTokens) {
            added.add(new AddedToken(wordToId.get(special), special, true, false, false, false, false));
        }
        int nextId = idToWord.size();
        Set<String> seen = new HashSet<>(specialTokens);
        for (String token : addedTokens) {
            if (!seen.add(token)) {
                continue;
            }
            Integer id = wordToId.get(token);
            added.add(new AddedToken(id != null ? id : nextId++, token, false, false, false, false, false));
        }
        return new Result(List.copyOf(idToWord), List.copyOf(merges), List.copyOf(added), splitRegex);
    }

    private static void drainInto(Map<Long, Set<Integer>> whereToUpdate, Map<Long, Long> pairCounts,
                                  PriorityQueue<Merge> queue) {
        for (Map.Entry<Long, Set<Integer>> e : whereToUpdate.entrySet()) {
            long count = pairCounts.get(e.getKey());
            if (count > 0) {
                queue.add(new Merge(e.getKey(), count, e.getValue()));
            }
        }
        whereToUpdate.clear();
    }

    /**
     * HF's {@code Word::merge}: replaces each occurrence of (c1, c2), left to right, and records how the
     * neighbouring pairs' counts change (the merged pair's own count is left as it is, as HF does).
     */
    private static void mergeWord(int[][] words, int[] lengths, int w, int c1, int c2, int replacement, long count,
                                  Map<Long, Long> pairCounts, Map<Long, Set<Integer>> whereToUpdate) {
        int[] s = words[w];
        int len = lengths[w];
        int i = 0;
        while (i < len) {
            if (s[i] == c1 && i + 1 < len && s[i + 1] == c2) {
                if (i > 0) {
                    change(pairKey(s[i - 1], c1), -1, count, w, pairCounts, whereToUpdate);
                    change(pairKey(s[i - 1], replacement), 1, count, w, pairCounts, whereToUpdate);
                }
                s[i] = replacement;
                System.arraycopy(s, i + 2, s, i + 1, len - i - 2);
                len--;
                if (i < len - 1) {
                    change(pairKey(c2, s[i + 1]), -1, count, w, pairCounts, whereToUpdate);
                    change(pairKey(replacement, s[i + 1]), 1, count, w, pairCounts, whereToUpdate);
                }
            }
            i++;
        }
        lengths[w] = len;
    }

    private static void change(long pair, int change, long count, int w, Map<Long, Long> pairCounts,
                               Map<Long, Set<Integer>> whereToUpdate) {
        pairCounts.merge(pair, change * count, Long::sum);
        if (change > 0) {
            whereToUpdate.computeIfAbsent(pair, k -> new HashSet<>()).add(w);
        }
    }
}
