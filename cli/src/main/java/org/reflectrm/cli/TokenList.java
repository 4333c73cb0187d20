package org.reflectrm.cli;

import org.reflectrm.model.BadInputException;

/** Parses {@code --tokens 1,2,3}. */
final class TokenList {
    private TokenList() {
    }

    static int[] parse(String text) {
        String[] parts = text.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException("--tokens: item " + (i + 1) + " '" + p + "' is not an integer token id");
            }
            if (ids[i] < 0) {
                throw new BadInputException("--tokens: item " + (i + 1) + " is negative (" + ids[i] + ")");
            }
        }
        if (ids.length == 0 || text.isBlank()) {
            throw new BadInputException("--tokens: no token ids given");
        }
        return ids;
    }
}
