package org.reflectrm.cli;

import org.reflectrm.model.BadInputException;

/** Parses comma-separated token ids ({@code --tokens 1,2,3}, {@code --decode 1,2,3}). */
final class TokenList {
    private TokenList() {
    }

    /** {@code --tokens}: at least one id. */
    static int[] parse(String text) {
        return parse("--tokens", text, false);
    }

    /** Ids given with {@code flag}; an empty (blank) list is allowed only when {@code allowEmpty}. */
    static int[] parse(String flag, String text, boolean allowEmpty) {
        if (text.isBlank()) {
            if (allowEmpty) {
                return new int[0];
            }
            throw new BadInputException(flag + ": no token ids given");
        }
        String[] parts = text.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException(flag + ": item " + (i + 1) + " '" + p + "' is not an integer token id");
            }
            if (ids[i] < 0) {
                throw new BadInputException(flag + ": item " + (i + 1) + " is negative (" + ids[i] + ")");
            }
        }
        return ids;
    }

    /** Rejects ids the model has no embedding row for, naming the flag and the model folder. */
    static void requireInVocabulary(int[] ids, int vocabSize, Object model) {
        requireInVocabulary("--tokens", ids, vocabSize, model);
    }

    /** As {@link #requireInVocabulary(int[], int, Object)} for ids that came from {@code flag}. */
    static void requireInVocabulary(String flag, int[] ids, int vocabSize, Object model) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= vocabSize) {
                throw new BadInputException(flag + ": item " + (i + 1) + " (" + ids[i] + ") is outside the vocabulary of "
                        + model + ": ids run from 0 to " + (vocabSize - 1)
                        + (flag.equals("--tokens") ? "" : " (does the tokenizer belong to this model?)"));
            }
        }
    }
}
