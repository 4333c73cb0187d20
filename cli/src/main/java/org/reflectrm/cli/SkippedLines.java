package org.reflectrm.cli;

import java.io.PrintWriter;

/**
 * The one rule for JSONL inputs whose bad lines are skipped rather than fatal ({@code judge --input},
 * {@code tokenize --jsonl}, {@code train sft} without {@code --strict}): each bad line is reported
 * with its number as it is met, the good lines are processed to the end (the output is complete for
 * them), and then the command exits 2 (bad input) with one line saying how many were skipped, so a
 * script cannot mistake a partial run for a clean one.
 */
final class SkippedLines {
    private SkippedLines() {
    }

    /**
     * The exit code once the good lines are done: 0 when none was skipped, otherwise {@link Main#EXIT_BAD_INPUT}
     * after an error line such as {@code reflectrm-j: error: in.jsonl: 2 of 40 lines skipped (reported above); the
     * others were judged}.
     *
     * @param name    the input as the user named it
     * @param skipped lines skipped as bad
     * @param lines   lines read (blank ones included or not, as the command counts them)
     * @param rest    what happened to the others, e.g. {@code "the others were judged"}
     */
    static int exitCode(PrintWriter err, String name, long skipped, long lines, String rest) {
        if (skipped == 0) {
            return 0;
        }
        err.println("reflectrm-j: error: " + name + ": " + skipped + " of " + lines + " line" + (lines == 1 ? "" : "s")
                + " skipped as bad (reported above with their numbers); " + rest);
        err.flush();
        return Main.EXIT_BAD_INPUT;
    }
}
