package org.reflectrm.tokenizer;

import java.text.Normalizer;
import java.util.List;

/** A {@code tokenizer.json} normalizer: rewrites each text piece before pre-tokenization. */
sealed interface TextNormalizer {
    String normalize(String text);

    /** No normalizer ({@code "normalizer": null}). */
    TextNormalizer IDENTITY = new Unicode(null);

    /** NFC, NFD, NFKC or NFKD; a null form means identity. */
    record Unicode(Normalizer.Form form) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            if (form == null) {
                return text;
            }
            // Below U+0300 every character is its own NFC form and never composes with a neighbour (the
            // first combining mark is U+0300), so ASCII and Latin text skip the JDK call. Not so for NFD
            // (it splits U+00E9) or the compatibility forms (they rewrite U+00A0, U+00BD...).
            if (form == Normalizer.Form.NFC && allBelow0300(text)) {
                return text;
            }
            return Normalizer.normalize(text, form);
        }

        private static boolean allBelow0300(String text) {
            for (int i = 0, n = text.length(); i < n; i++) {
                if (text.charAt(i) >= 0x300) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Applies each normalizer in turn. */
    record Sequence(List<TextNormalizer> steps) implements TextNormalizer {
        @Override
        public String normalize(String text) {
            for (TextNormalizer step : steps) {
                text = step.normalize(text);
            }
            return text;
        }
    }
}
