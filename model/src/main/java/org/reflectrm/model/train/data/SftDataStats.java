package org.reflectrm.model.train.data;

import java.util.List;
import java.util.Objects;

/**
 * What {@link SftDataset#load} did with its input.
 *
 * @param file            the input's file name (as used in messages)
 * @param linesRead       physical lines in the file, blank ones included
 * @param blankLines      lines holding only whitespace (ignored, not errors)
 * @param examplesKept    examples returned
 * @param malformed       lines skipped because they are not a valid SFT record
 * @param truncated       kept examples cut to {@code maxLen} tokens ({@link SftDataOptions.OverLong#TRUNCATE})
 * @param rejectedTooLong examples skipped for being longer than {@code maxLen} ({@link SftDataOptions.OverLong#REJECT})
 * @param noLossTokens    examples skipped because no target token is left (no assistant turn, or truncation cut
 *                        them all off)
 * @param problems        the first {@link #MAX_PROBLEMS} skipped lines, any reason, in file order
 */
public record SftDataStats(String file, int linesRead, int blankLines, int examplesKept, int malformed,
                           int truncated, int rejectedTooLong, int noLossTokens, List<Problem> problems) {

    /** How many skipped lines {@link #problems} lists. */
    public static final int MAX_PROBLEMS = 10;

    /** Why a line was skipped. */
    public enum Kind { MALFORMED, TOO_LONG, NO_LOSS_TOKENS }

    /** One skipped line: its 1-based number and the message strict mode would have thrown (without the file). */
    public record Problem(int line, Kind kind, String message) {
        public Problem {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(message, "message");
        }
    }

    public SftDataStats {
        Objects.requireNonNull(file, "file");
        problems = List.copyOf(problems);
    }

    /** Lines skipped for any reason. */
    public int skipped() {
        return malformed + rejectedTooLong + noLossTokens;
    }

    /** One line for a log, e.g. {@code data.jsonl: 120 lines, 117 examples (2 truncated); skipped 3: ...}. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(file).append(": ").append(linesRead).append(" lines, ").append(examplesKept).append(" examples");
        if (truncated > 0) {
            sb.append(" (").append(truncated).append(" truncated)");
        }
        if (skipped() > 0) {
            sb.append("; skipped ").append(skipped()).append(':');
            if (malformed > 0) {
                sb.append(' ').append(malformed).append(" malformed");
            }
            if (rejectedTooLong > 0) {
                sb.append(' ').append(rejectedTooLong).append(" too long");
            }
            if (noLossTokens > 0) {
                sb.append(' ').append(noLossTokens).append(" without loss tokens");
            }
            for (Problem p : problems) {
                sb.append("\n  line ").append(p.line()).append(": ").append(p.message());
            }
            if (skipped() > problems.size()) {
                sb.append("\n  ... and ").append(skipped() - problems.size()).append(" more");
            }
        }
        return sb.toString();
    }
}
