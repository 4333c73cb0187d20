package org.reflectrm.tokenizer;

/**
 * The Unicode character classes that Hugging Face tokenizers' regexes and added-token rules use,
 * defined exactly as {@code java.util.regex} with {@code UNICODE_CHARACTER_CLASS} defines them (which is
 * also what Oniguruma and Rust use for these classes; tests check every code point against the regex).
 */
final class CharClass {
    private CharClass() {
    }

    private static final int WHITE = 1, LETTER = 2, NUMBER = 4, WORD = 8;
    /**
     * Answers for the whole BMP, precomputed (64 KiB, a few ms at class load): the pre-tokenizer asks for
     * every character, and a table read is several times cheaper than {@link Character#getType}.
     */
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int c = 0; c < BMP.length; c++) {
            BMP[c] = (byte) ((computeWhiteSpace(c) ? WHITE : 0) | (Character.isLetter(c) ? LETTER : 0)
                    | (computeNumber(c) ? NUMBER : 0) | (computeWordChar(c) ? WORD : 0));
        }
    }

    /**
     * Unicode White_Space: U+0009..U+000D, U+0085 and the Zs/Zl/Zp categories. This is regex {@code \s}
     * in Oniguruma and in Java with UNICODE_CHARACTER_CLASS, and Rust's {@code char::is_whitespace}.
     * U+200B and U+FEFF are not white space; U+001C..U+001F are not either (unlike
     * {@link Character#isWhitespace}).
     */
    static boolean isWhiteSpace(int cp) {
        return cp < 0x10000 ? (BMP[cp] & WHITE) != 0 : computeWhiteSpace(cp);
    }

    /** Regex {@code \p{L}}: categories Lu, Ll, Lt, Lm, Lo. */
    static boolean isLetter(int cp) {
        return cp < 0x10000 ? (BMP[cp] & LETTER) != 0 : Character.isLetter(cp);
    }

    /** Regex {@code \p{N}}: categories Nd, Nl, No. */
    static boolean isNumber(int cp) {
        return cp < 0x10000 ? (BMP[cp] & NUMBER) != 0 : computeNumber(cp);
    }

    /**
     * Regex {@code \w} as Rust's regex crate defines it (Alphabetic, marks, Nd, Pc, Join_Control); HF's
     * {@code single_word} added tokens test the characters next to a match with it.
     */
    static boolean isWordChar(int cp) {
        return cp < 0x10000 ? (BMP[cp] & WORD) != 0 : computeWordChar(cp);
    }

    private static boolean computeWhiteSpace(int cp) {
        if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.SPACE_SEPARATOR || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR;
    }

    private static boolean computeNumber(int cp) {
        int type = Character.getType(cp);
        return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
    }

    private static boolean computeWordChar(int cp) {
        if (Character.isAlphabetic(cp) || cp == 0x200C || cp == 0x200D) {
            return true;
        }
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK || type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.CONNECTOR_PUNCTUATION;
    }
}
