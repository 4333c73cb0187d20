package org.reflectrm.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * UTF-8 helpers with the replacement rules of Rust's {@code String::from_utf8_lossy} and Python's
 * {@code errors="replace"}: each maximal subpart of an ill-formed sequence (Unicode 3.9, Table 3-7
 * "U+FFFD substitution of maximal subparts") becomes one U+FFFD. Java's own decoder is not used because
 * its replacement granularity is not specified to be the same.
 */
final class Utf8 {
    private Utf8() {
    }

    static final char REPLACEMENT = '\uFFFD';

    /** UTF-8 bytes of a string whose lone surrogates were already replaced. */
    static byte[] encode(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes all of {@code bytes[0, length)}; an incomplete sequence at the end becomes U+FFFD. */
    static String decodeLossy(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        int end = decode(bytes, length, out, false);
        if (end != length) {
            throw new IllegalStateException("unreachable: lossy decode stopped early");
        }
        return out.toString();
    }

    /**
     * Decodes {@code bytes[0, length)} into {@code out} and returns how many bytes were consumed. With
     * {@code stopAtIncompleteTail}, a final sequence that is a valid but unfinished prefix of a character
     * is left unconsumed (a stream decoder keeps it for the next bytes); without it, it becomes U+FFFD.
     * Everything before the returned index decodes the same whatever bytes follow.
     */
    static int decode(byte[] bytes, int length, StringBuilder out, boolean stopAtIncompleteTail) {
        int i = 0;
        while (i < length) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need; // continuation bytes after b0
            int lo = 0x80, hi = 0xBF; // allowed range of the first continuation byte
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F; // no UTF-16 surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            } else {
                out.append(REPLACEMENT); // 0x80-0xC1, 0xF5-0xFF never start a character
                i++;
                continue;
            }
            int cp = b0 & (0x3F >> need);
            int j = i + 1;
            boolean valid = true;
            for (int k = 0; k < need; k++, j++) {
                if (j >= length) {
                    if (stopAtIncompleteTail) {
                        return i;
                    }
                    valid = false;
                    break;
                }
                int b = bytes[j] & 0xFF;
                int min = k == 0 ? lo : 0x80, max = k == 0 ? hi : 0xBF;
                if (b < min || b > max) {
                    valid = false;
                    break;
                }
                cp = (cp << 6) | (b & 0x3F);
            }
            if (valid) {
                out.appendCodePoint(cp);
            } else {
                out.append(REPLACEMENT); // the maximal valid prefix i..j-1 becomes one U+FFFD
            }
            i = j;
        }
        return i;
    }

    /**
     * Replaces unpaired UTF-16 surrogates with U+FFFD. Hugging Face tokenizers only ever see valid
     * Unicode (a Rust {@code str}); this is what a lossy UTF-16 conversion into one would give.
     */
    static String replaceLoneSurrogates(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return replaceFrom(s, i);
            }
        }
        return s;
    }

    private static String replaceFrom(String s, int from) {
        StringBuilder sb = new StringBuilder(s.length());
        sb.append(s, 0, from);
        int n = s.length();
        for (int i = from; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(Character.isSurrogate(c) ? REPLACEMENT : c);
            }
        }
        return sb.toString();
    }
}
