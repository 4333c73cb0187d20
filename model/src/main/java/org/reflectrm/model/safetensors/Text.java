package org.reflectrm.model.safetensors;

import java.util.Comparator;
import java.util.HexFormat;

/** String helpers shared by the reader (error messages) and the writer (JSON text). */
final class Text {

    private Text() {
    }

    /** Longest piece of untrusted text quoted into an error message. */
    private static final int MAX_QUOTED = 200;

    /**
     * Quotes untrusted text (a tensor name, a key) for an error message: control characters are
     * escaped so a crafted name cannot move the terminal cursor or fake extra lines, and very long
     * names are cut so one message stays readable.
     */
    static String quote(String s) {
        return "'" + clean(s, MAX_QUOTED) + "'";
    }

    /**
     * {@code s} with control characters and unpaired surrogates escaped as {@code \}{@code uXXXX},
     * cut after {@code max} characters (the cut is noted with the full length).
     */
    static String clean(String s, int max) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), max) + 16);
        int n = Math.min(s.length(), max);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || Character.isSurrogate(c) && !validPairAt(s, i)) {
                b.append("\\u").append(HexFormat.of().toHexDigits(c));
            } else if (Character.isHighSurrogate(c)) {
                // A valid pair: copy both halves, even across the cut, so the result stays well formed.
                b.append(c).append(s.charAt(++i));
            } else {
                b.append(c);
            }
        }
        if (s.length() > n) {
            b.append("...(").append(s.length()).append(" chars)");
        }
        return b.toString();
    }

    private static boolean validPairAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        // A low surrogate reached here was not consumed as the second half of a pair.
        return false;
    }

    /** True when the string has an unpaired surrogate, which cannot be written as UTF-8. */
    static boolean hasUnpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return true;
                }
            } else if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Unicode code point order. It equals the byte order of the UTF-8 encodings, which is how Rust
     * orders {@code String}s (the safetensors writer) and how Python orders {@code str}s
     * ({@code json.dumps(sort_keys=True)}); Java's {@code compareTo} orders UTF-16 units and
     * differs for characters beyond U+FFFF.
     */
    static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    /**
     * Appends {@code s} as a JSON string the way serde_json (the safetensors writer) does: only
     * quote, backslash and control characters are escaped, with two-character forms where JSON has
     * them and lowercase {@code \}{@code u00xx} otherwise; everything else stays as UTF-8.
     */
    static void appendSerdeString(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!appendShortEscape(b, c)) {
                if (c < 0x20) {
                    b.append("\\u00").append(HexFormat.of().toHexDigits((byte) c));
                } else {
                    b.append(c);
                }
            }
        }
        b.append('"');
    }

    /**
     * Appends {@code s} as a JSON string the way Python's {@code json.dumps} does with its default
     * {@code ensure_ascii=True} (how transformers writes the shard index): printable ASCII stays,
     * everything else becomes lowercase {@code \}{@code uXXXX}, characters beyond U+FFFF as a
     * surrogate pair.
     */
    static void appendPythonString(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!appendShortEscape(b, c)) {
                if (c < 0x20 || c > 0x7e) {
                    b.append("\\u").append(HexFormat.of().toHexDigits(c));
                } else {
                    b.append(c);
                }
            }
        }
        b.append('"');
    }

    private static boolean appendShortEscape(StringBuilder b, char c) {
        String e = switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> null;
        };
        if (e == null) {
            return false;
        }
        b.append(e);
        return true;
    }
}
