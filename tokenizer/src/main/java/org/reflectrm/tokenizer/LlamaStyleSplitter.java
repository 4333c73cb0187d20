package org.reflectrm.tokenizer;

/**
 * A hand-written matcher equivalent to the pre-tokenizer regex of Qwen2/Qwen3 (and, with
 * {@code maxDigits = 3}, of Llama 3):
 *
 * <pre>
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * </pre>
 *
 * Every character is white space, a letter, a number or "other", so the regex matches at every position
 * and the matches tile the text; {@link #matchEnd} computes where the match that starts at {@code i}
 * ends, following the alternatives in order with the regex engine's backtracking worked out by hand.
 * It is used only when a tokenizer's pattern is exactly one of these strings, and tests check it against
 * {@code java.util.regex} on the corpus and on millions of random strings.
 */
final class LlamaStyleSplitter implements SplitPattern {
    static final String QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final int maxDigits;

    private LlamaStyleSplitter(int maxDigits) {
        this.maxDigits = maxDigits;
    }

    /** The hand-written equivalent of {@code regex}, or null when there is none. */
    static LlamaStyleSplitter forRegex(String regex) {
        if (regex.equals(QWEN2_PATTERN)) {
            return new LlamaStyleSplitter(1);
        }
        if (regex.equals(LLAMA3_PATTERN)) {
            return new LlamaStyleSplitter(3);
        }
        return null;
    }

    @Override
    public void forEachMatch(String text, int start, int end, MatchSink sink) {
        int n = end;
        int i = start;
        while (i < n) {
            int matchEnd = matchEnd(text, i, n);
            sink.match(i, matchEnd);
            i = matchEnd;
        }
    }

    /**
     * End of the regex match that starts at {@code i} (there always is one, and it is not empty), the text
     * ending at {@code n}.
     */
    int matchEnd(String s, int i, int n) {
        int cp = s.codePointAt(i);
        int next = i + Character.charCount(cp);
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (cp == '\'' && next < n) {
            int end = contractionEnd(s, next, n);
            if (end > 0) {
                return end;
            }
        }
        boolean letter = CharClass.isLetter(cp);
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+ : a letter run, optionally led by one non-letter, non-number, non-CR/LF
        if (letter) {
            return letterRunEnd(s, next, n);
        }
        boolean number = CharClass.isNumber(cp);
        if (!number && cp != '\r' && cp != '\n' && next < n && CharClass.isLetter(s.codePointAt(next))) {
            return letterRunEnd(s, next, n);
        }
        // 3. \p{N} or \p{N}{1,3}
        if (number) {
            int end = next;
            for (int k = 1; k < maxDigits && end < n; k++) {
                int c = s.codePointAt(end);
                if (!CharClass.isNumber(c)) {
                    break;
                }
                end += Character.charCount(c);
            }
            return end;
        }
        boolean space = CharClass.isWhiteSpace(cp);
        // 4. " ?[^\s\p{L}\p{N}]+[\r\n]*": a run of "other" characters, optionally led by one U+0020
        if (!space) {
            return newlinesEnd(s, otherRunEnd(s, i, n), n);
        }
        if (cp == ' ' && next < n && isOther(s.codePointAt(next))) {
            return newlinesEnd(s, otherRunEnd(s, next, n), n);
        }
        // The white-space alternatives. White_Space characters are all in the BMP: one char each.
        int runEnd = i + 1;
        int lastNewline = (cp == '\r' || cp == '\n') ? i : -1;
        while (runEnd < n && CharClass.isWhiteSpace(s.charAt(runEnd))) {
            char c = s.charAt(runEnd);
            if (c == '\r' || c == '\n') {
                lastNewline = runEnd;
            }
            runEnd++;
        }
        // 5. \s*[\r\n]+ : greedy \s* backs off to the last CR/LF of the run
        if (lastNewline >= 0) {
            return lastNewline + 1;
        }
        // 6. \s+(?!\S) : the whole run at the end of the text, else the run minus its last character
        if (runEnd == n) {
            return n;
        }
        if (runEnd - i >= 2) {
            return runEnd - 1;
        }
        // 7. \s+ : a single white-space character before a non-space
        return runEnd;
    }

    /** End of a contraction after the apostrophe ({@code at} is just after it), or -1. */
    private static int contractionEnd(String s, int at, int n) {
        char c = s.charAt(at);
        switch (c) {
            // Unicode case-insensitive matching also lets U+017F LONG S match 's'.
            case 's', 'S', '\u017F', 't', 'T', 'm', 'M', 'd', 'D' -> {
                return at + 1;
            }
            case 'r', 'R', 'v', 'V' -> {
                return at + 1 < n && (s.charAt(at + 1) | 0x20) == 'e' ? at + 2 : -1;
            }
            case 'l', 'L' -> {
                return at + 1 < n && (s.charAt(at + 1) | 0x20) == 'l' ? at + 2 : -1;
            }
            default -> {
                return -1;
            }
        }
    }

    private static boolean isOther(int cp) {
        return !CharClass.isWhiteSpace(cp) && !CharClass.isLetter(cp) && !CharClass.isNumber(cp);
    }

    private static int letterRunEnd(String s, int i, int n) {
        while (i < n) {
            int c = s.codePointAt(i);
            if (!CharClass.isLetter(c)) {
                break;
            }
            i += Character.charCount(c);
        }
        return i;
    }

    private static int otherRunEnd(String s, int i, int n) {
        while (i < n) {
            int c = s.codePointAt(i);
            if (!isOther(c)) {
                break;
            }
            i += Character.charCount(c);
        }
        return i;
    }

    private static int newlinesEnd(String s, int i, int n) {
        while (i < n && (s.charAt(i) == '\r' || s.charAt(i) == '\n')) {
            i++;
        }
        return i;
    }
}
