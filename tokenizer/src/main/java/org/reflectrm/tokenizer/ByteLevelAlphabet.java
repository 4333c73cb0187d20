package org.reflectrm.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's {@code bytes_to_unicode} table: every byte gets a printable character so that byte strings can
 * live in a JSON vocabulary. Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to the same code point; the
 * other 68 bytes, in increasing order, map to U+0100, U+0101, ... (space becomes U+0120 'Ġ').
 */
final class ByteLevelAlphabet {
    private ByteLevelAlphabet() {
    }

    /** {@code CHAR_OF_BYTE[b]} is the character standing for byte {@code b}. */
    private static final char[] CHAR_OF_BYTE = new char[256];
    /** Inverse table indexed by character; -1 where a character stands for no byte. All are below U+0144. */
    private static final short[] BYTE_OF_CHAR = new short[0x144];

    static {
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            CHAR_OF_BYTE[b] = (char) (printable ? b : 0x100 + next++);
        }
        Arrays.fill(BYTE_OF_CHAR, (short) -1);
        for (int b = 0; b < 256; b++) {
            BYTE_OF_CHAR[CHAR_OF_BYTE[b]] = (short) b;
        }
    }

    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte a character stands for, or -1. */
    static int byteOf(char c) {
        return c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
    }

    /** Maps the UTF-8 bytes of {@code text} to byte-level characters. */
    static String encode(String text) {
        int n = text.length();
        // ASCII fast path: one char per byte, no UTF-8 encoder needed.
        char[] out = new char[n];
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c >= 0x80) {
                return encodeUtf8(text);
            }
            out[i] = CHAR_OF_BYTE[c];
        }
        return new String(out);
    }

    private static String encodeUtf8(String text) {
        byte[] bytes = Utf8.encode(text);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = CHAR_OF_BYTE[bytes[i] & 0xFF];
        }
        return new String(out);
    }
}
