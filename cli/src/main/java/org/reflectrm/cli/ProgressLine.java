package org.reflectrm.cli;

import java.io.PrintWriter;

/**
 * A one-line progress display on stderr, redrawn in place, shown only when the program runs on
 * a terminal (a redirected log gets no control characters).
 */
final class ProgressLine {
    private final PrintWriter err;
    private final boolean enabled;
    private int lastLength;

    ProgressLine(PrintWriter err) {
        this.err = err;
        this.enabled = System.console() != null && System.console().isTerminal();
    }

    void show(String text) {
        if (!enabled) {
            return;
        }
        String padded = text.length() < lastLength ? text + " ".repeat(lastLength - text.length()) : text;
        err.print("\r" + padded);
        err.flush();
        lastLength = text.length();
    }

    /** Ends the line so that what follows starts on a fresh one. */
    void finish() {
        if (enabled && lastLength > 0) {
            err.println();
            lastLength = 0;
        }
    }

    /** {@code [#####.....]} for a fraction in [0, 1]. */
    static String bar(double fraction, int width) {
        int filled = (int) Math.round(Math.max(0, Math.min(1, fraction)) * width);
        return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
    }
}
