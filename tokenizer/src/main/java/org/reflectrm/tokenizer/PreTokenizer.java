package org.reflectrm.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code tokenizer.json} pre-tokenizer: cuts a normalized text piece into the words the model tokenizes
 * one by one. Pieces are ranges of a string and stream through a {@link PieceSink}, so splitting allocates
 * nothing; HF drops empty pieces, and so does every implementation here.
 */
sealed interface PreTokenizer {
    /** Receives a piece {@code text[start, end)}, never empty. */
    interface PieceSink {
        void accept(String text, int start, int end);
    }

    void preTokenize(String text, int start, int end, PieceSink next);

    /**
     * This pre-tokenizer with its final byte-level mapping left out, or null when it does not end with a
     * {@code ByteLevel} step. The BPE model then maps the words itself, which lets it cache them by their
     * original text and skip the mapping on a cache hit.
     */
    PreTokenizer withoutFinalByteMapping();

    /** No pre-tokenizer: the piece is one word. */
    PreTokenizer NONE = new Sequence(List.of());

    /** Applies each pre-tokenizer to every piece the previous one produced. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void preTokenize(String text, int start, int end, PieceSink next) {
            if (steps.isEmpty()) {
                next.accept(text, start, end);
                return;
            }
            // Chain the steps once per call rather than once per piece.
            PieceSink sink = next;
            for (int i = steps.size() - 1; i >= 1; i--) {
                PreTokenizer step = steps.get(i);
                PieceSink after = sink;
                sink = (t, s, e) -> step.preTokenize(t, s, e, after);
            }
            steps.get(0).preTokenize(text, start, end, sink);
        }

        @Override
        public PreTokenizer withoutFinalByteMapping() {
            if (steps.isEmpty()) {
                return null;
            }
            PreTokenizer last = steps.get(steps.size() - 1).withoutFinalByteMapping();
            if (last == null) {
                return null;
            }
            List<PreTokenizer> copy = new ArrayList<>(steps);
            copy.set(copy.size() - 1, last);
            return new Sequence(List.copyOf(copy));
        }
    }

    /** How a {@code Split} treats its matches; HF's other behaviours are rejected at load time. */
    enum SplitBehavior {
        /** Matches and the text between them each become a piece. */
        ISOLATED,
        /** Matches are dropped; the text between them becomes pieces. */
        REMOVED
    }

    /** HF's {@code Split}: {@code invert} swaps which ranges count as matches. */
    record Split(SplitPattern pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void preTokenize(String text, int start, int end, PieceSink next) {
            boolean keepMatches = behavior == SplitBehavior.ISOLATED || invert;
            boolean keepGaps = behavior == SplitBehavior.ISOLATED || !invert;
            int[] previousEnd = {start};
            pattern.forEachMatch(text, start, end, (s, e) -> {
                if (keepGaps && s > previousEnd[0]) {
                    next.accept(text, previousEnd[0], s);
                }
                if (keepMatches && e > s) {
                    next.accept(text, s, e);
                }
                previousEnd[0] = e;
            });
            if (keepGaps && end > previousEnd[0]) {
                next.accept(text, previousEnd[0], end);
            }
        }

        @Override
        public PreTokenizer withoutFinalByteMapping() {
            return null;
        }
    }

    /**
     * HF's {@code ByteLevel} pre-tokenizer: optionally prefixes a space (to every piece that does not start
     * with U+0020, not only the first: HF applies it per piece), optionally splits with GPT-2's regex, then
     * rewrites each piece's UTF-8 bytes as {@link ByteLevelAlphabet} characters (unless {@code mapBytes} is
     * off because the model does that itself).
     */
    record ByteLevel(boolean addPrefixSpace, SplitPattern gpt2Regex, boolean mapBytes) implements PreTokenizer {
        static final String GPT2_PATTERN =
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

        static ByteLevel of(boolean addPrefixSpace, boolean useRegex) {
            return new ByteLevel(addPrefixSpace, useRegex ? SplitPattern.Regex.compile(GPT2_PATTERN) : null, true);
        }

        @Override
        public void preTokenize(String text, int start, int end, PieceSink next) {
            if (addPrefixSpace && text.charAt(start) != ' ') {
                text = " " + text.substring(start, end);
                start = 0;
                end = text.length();
            }
            PieceSink out = mapBytes ? (t, s, e) -> {
                String mapped = ByteLevelAlphabet.encode(t.substring(s, e));
                next.accept(mapped, 0, mapped.length());
            } : next;
            if (gpt2Regex == null) {
                out.accept(text, start, end);
            } else {
                new Split(gpt2Regex, SplitBehavior.ISOLATED, false).preTokenize(text, start, end, out);
            }
        }

        @Override
        public PreTokenizer withoutFinalByteMapping() {
            return new ByteLevel(addPrefixSpace, gpt2Regex, false);
        }
    }
}
