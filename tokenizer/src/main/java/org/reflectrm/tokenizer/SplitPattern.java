package org.reflectrm.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The pattern of a {@code Split} pre-tokenizer: finds non-overlapping matches left to right. */
interface SplitPattern {
    /** Receives each match as a UTF-16 range. */
    interface MatchSink {
        void match(int start, int end);
    }

    /**
     * Reports the matches inside {@code text[start, end)} as if that range were the whole string: nothing
     * outside it is visible, not even to look-arounds (HF runs the pattern on each piece on its own).
     */
    void forEachMatch(String text, int start, int end, MatchSink sink);

    default void forEachMatch(String text, MatchSink sink) {
        forEachMatch(text, 0, text.length(), sink);
    }

    /**
     * A regex run by {@code java.util.regex}. {@code UNICODE_CHARACTER_CLASS} gives {@code \s}, {@code \w},
     * {@code \d} and case-insensitivity their Unicode meaning, which is what HF's Oniguruma uses.
     */
    record Regex(Pattern pattern) implements SplitPattern {
        static Regex compile(String regex) {
            return new Regex(Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS));
        }

        @Override
        public void forEachMatch(String text, int start, int end, MatchSink sink) {
            // A region has opaque, anchoring bounds by default: the range behaves like a separate string.
            Matcher m = pattern.matcher(text);
            int from = start;
            while (from <= end) {
                m.region(from, end);
                if (!m.find()) {
                    break;
                }
                int s = m.start(), e = m.end();
                sink.match(s, e);
                // After an empty match step over one whole code point (HF steps over a char; Java's own
                // find() would step one UTF-16 unit and could land inside a surrogate pair).
                from = e > s ? e : e < end ? e + Character.charCount(text.codePointAt(e)) : end + 1;
            }
        }
    }

    /** A literal string ({@code "pattern": {"String": ...}}); an empty one matches nothing. */
    record Literal(String literal) implements SplitPattern {
        @Override
        public void forEachMatch(String text, int start, int end, MatchSink sink) {
            if (literal.isEmpty()) {
                return;
            }
            int from = start;
            int at;
            while ((at = text.indexOf(literal, from)) >= 0 && at + literal.length() <= end) {
                sink.match(at, at + literal.length());
                from = at + literal.length();
            }
        }
    }
}
