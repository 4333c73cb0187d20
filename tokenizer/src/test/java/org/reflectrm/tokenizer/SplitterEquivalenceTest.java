package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Proves the hand-written {@link LlamaStyleSplitter} identical to {@code java.util.regex} running the
 * same pattern (the regex itself is checked against HF by the corpus tests): on every code point in many
 * contexts, on the corpus, and on millions of random strings. {@code -Dsplitter.randomStrings=N} runs more.
 */
class SplitterEquivalenceTest {
    private static final int RANDOM_STRINGS = Integer.getInteger("splitter.randomStrings", 2_000_000);

    private static final SplitPattern QWEN_FAST = LlamaStyleSplitter.forRegex(LlamaStyleSplitter.QWEN2_PATTERN);
    private static final SplitPattern QWEN_REGEX = SplitPattern.Regex.compile(LlamaStyleSplitter.QWEN2_PATTERN);
    private static final SplitPattern LLAMA_FAST = LlamaStyleSplitter.forRegex(LlamaStyleSplitter.LLAMA3_PATTERN);
    private static final SplitPattern LLAMA_REGEX = SplitPattern.Regex.compile(LlamaStyleSplitter.LLAMA3_PATTERN);

    /** Characters from every class the pattern distinguishes, over-weighting the tricky ones. */
    private static final String[] ALPHABET = {
            "a", "Z", "\u00e9", "\u017f", "\u0131", "\u0130", "\u212a", "\u4e16", "\ud55c", "\u0416", "\u05e9", "\u0627",
            "\u0915", "\u093f", "\u0301", "\u20dd", "\ud835\udc00", "\ud840\udc00", "\u02b0", "\u01c5",
            "0", "7", "\u0661", "\u00b2", "\u00bd", "\u2167", "\u2460", "\ud835\udfce",
            " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u000b", "\u000c", "\u0085", "\u00a0", "\u1680", "\u2000", "\u200a",
            "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\ufeff", "\u180e", "\u001c", "\u001f",
            "'", "'", "s", "S", "t", "T", "r", "R", "e", "E", "v", "V", "m", "M", "l", "L", "d", "D",
            "!", ".", ",", "(", ")", "-", "_", "<", "|", ">", "\u2019", "\u2014", "\ud83e\udd80", "\ud83c\udffd",
            "\u200d", "\ufe0f", "\u0000", "\u007f", "\u0080", "\ue000", "\ufffd", "\uffff", "\u0378"};

    @Test
    void everyCodePointInManyContexts() {
        List<String> failures = new ArrayList<>();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                continue;
            }
            String c = Character.toString(cp);
            // c after an apostrophe (as each contraction letter), after a space/newline/letter/digit, doubled...
            String s = "'" + c + " 'r" + c + "'l" + c + "'" + c + "e " + c + "\n" + c + "a" + c + "1" + c + c + " " + c
                    + "  " + c + "\r\n" + c;
            compare(s, failures);
            if (failures.size() > 10) {
                break;
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void corpusStrings() {
        List<String> failures = new ArrayList<>();
        for (JsonNode row : Fixtures.jsonLinesGz("qwen3/corpus.jsonl.gz")) {
            compare(row.get("text").textValue(), failures);
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void randomStrings() {
        SplittableRandom random = new SplittableRandom(12345);
        List<String> failures = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < RANDOM_STRINGS && failures.size() < 10; n++) {
            sb.setLength(0);
            int length = 1 + random.nextInt(random.nextInt(8) == 0 ? 60 : 12);
            for (int i = 0; i < length; i++) {
                if (random.nextInt(16) == 0) {
                    sb.appendCodePoint(randomCodePoint(random));
                } else {
                    sb.append(ALPHABET[random.nextInt(ALPHABET.length)]);
                }
            }
            compare(sb.toString(), failures);
        }
        assertEquals(List.of(), failures);
    }

    private static int randomCodePoint(SplittableRandom random) {
        int cp;
        do {
            cp = random.nextInt(4) == 0 ? random.nextInt(0x80) : random.nextInt(Character.MAX_CODE_POINT + 1);
        } while (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE);
        return cp;
    }

    private static void compare(String s, List<String> failures) {
        String fast = matches(QWEN_FAST, s), regex = matches(QWEN_REGEX, s);
        if (!fast.equals(regex)) {
            failures.add("qwen " + Qwen3CorpusTest.escape(s) + ": fast " + fast + " regex " + regex);
        }
        fast = matches(LLAMA_FAST, s);
        regex = matches(LLAMA_REGEX, s);
        if (!fast.equals(regex)) {
            failures.add("llama3 " + Qwen3CorpusTest.escape(s) + ": fast " + fast + " regex " + regex);
        }
    }

    private static String matches(SplitPattern pattern, String s) {
        StringBuilder sb = new StringBuilder();
        pattern.forEachMatch(s, (start, end) -> sb.append(start).append('-').append(end).append(' '));
        return sb.toString();
    }

    /** The character classes agree with the regex engine's on every code point. */
    @Test
    void characterClassesMatchRegexOnEveryCodePoint() {
        Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern letter = Pattern.compile("\\p{L}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern number = Pattern.compile("\\p{N}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern word = Pattern.compile("\\w", Pattern.UNICODE_CHARACTER_CLASS);
        List<String> failures = new ArrayList<>();
        for (int cp = 0; cp <= Character.MAX_CODE_POINT && failures.size() < 10; cp++) {
            String c = Character.toString(cp);
            check(failures, cp, "\\s", space.matcher(c).matches(), CharClass.isWhiteSpace(cp));
            check(failures, cp, "\\p{L}", letter.matcher(c).matches(), CharClass.isLetter(cp));
            check(failures, cp, "\\p{N}", number.matcher(c).matches(), CharClass.isNumber(cp));
            check(failures, cp, "\\w", word.matcher(c).matches(), CharClass.isWordChar(cp));
        }
        assertEquals(List.of(), failures);
    }

    private static void check(List<String> failures, int cp, String cls, boolean regex, boolean ours) {
        if (regex != ours) {
            failures.add(String.format("U+%04X %s: regex %b, CharClass %b", cp, cls, regex, ours));
        }
    }
}
