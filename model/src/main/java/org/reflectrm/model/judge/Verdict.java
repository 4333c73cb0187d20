package org.reflectrm.model.judge;

/**
 * What one generated judgment says: the preferred candidate (1 or 2) and the analysis text,
 * or {@link Status#UNPARSEABLE} when the output has no valid verdict. An unparseable judgment is
 * counted as such and never scored as a tie or as either candidate.
 */
public record Verdict(Status status, Integer choice, String analysis) {
    public enum Status { OK, UNPARSEABLE }

    /** Which kind of candidates a verdict is about: the sentences differ. */
    public enum Kind {
        RESPONSE("Response"), CRITIQUE("Critique");

        final String noun;

        Kind(String noun) {
            this.noun = noun;
        }

        /** The exact verdict sentence preferring candidate {@code winner}. */
        public String sentence(int winner) {
            int loser = 3 - winner;
            return noun + " " + winner + " is better than " + noun + " " + loser;
        }
    }

    public boolean parsed() {
        return status == Status.OK;
    }

    private static final String RESULT_OPEN = "<result>";
    private static final String RESULT_CLOSE = "</result>";
    private static final String ANALYSIS_OPEN = "<analysis>";
    private static final String ANALYSIS_CLOSE = "</analysis>";

    /**
     * Parses a generated judgment: the verdict is the text of the LAST {@code <Result>…</Result>}
     * (judges quote the tags while reasoning), accepted only if it is one of the two exact
     * sentences, ignoring case and surrounding whitespace. The analysis is the text of the last
     * {@code <Analysis>…</Analysis>} before that result, or everything before it.
     */
    public static Verdict parse(String generated, Kind kind) {
        int open = lastIndexIgnoringCase(generated, RESULT_OPEN, generated.length());
        if (open < 0) {
            return new Verdict(Status.UNPARSEABLE, null, generated.strip());
        }
        int close = indexIgnoringCase(generated, RESULT_CLOSE, open + RESULT_OPEN.length());
        String before = generated.substring(0, open);
        String analysis = analysisIn(before);
        if (close < 0) {
            return new Verdict(Status.UNPARSEABLE, null, analysis);
        }
        String said = generated.substring(open + RESULT_OPEN.length(), close).strip();
        for (int winner = 1; winner <= 2; winner++) {
            if (said.equalsIgnoreCase(kind.sentence(winner))) {
                return new Verdict(Status.OK, winner, analysis);
            }
        }
        return new Verdict(Status.UNPARSEABLE, null, analysis);
    }

    private static String analysisIn(String text) {
        int open = lastIndexIgnoringCase(text, ANALYSIS_OPEN, text.length());
        if (open < 0) {
            return text.strip();
        }
        int close = indexIgnoringCase(text, ANALYSIS_CLOSE, open);
        return text.substring(open + ANALYSIS_OPEN.length(), close < 0 ? text.length() : close).strip();
    }

    // Case-insensitive search on the original string (lower-casing first can change its length).
    private static int lastIndexIgnoringCase(String s, String needle, int before) {
        for (int i = Math.min(before, s.length() - needle.length()); i >= 0; i--) {
            if (s.regionMatches(true, i, needle, 0, needle.length())) {
                return i;
            }
        }
        return -1;
    }

    private static int indexIgnoringCase(String s, String needle, int from) {
        for (int i = Math.max(0, from); i <= s.length() - needle.length(); i++) {
            if (s.regionMatches(true, i, needle, 0, needle.length())) {
                return i;
            }
        }
        return -1;
    }
}
