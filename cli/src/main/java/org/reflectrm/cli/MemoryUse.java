package org.reflectrm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident set size and Java heap use, to show that weights stay off the heap. */
record MemoryUse(long rssBytes, long heapUsedBytes) {

    static MemoryUse now() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return new MemoryUse(rss(), rt.totalMemory() - rt.freeMemory());
    }

    /** VmRSS from /proc (Linux); -1 where that is not available. */
    private static long rss() {
        return procStatus("VmRSS:");
    }

    /** The peak resident set size of the process so far (VmHWM); -1 where not available. */
    static long peakRssBytes() {
        return procStatus("VmHWM:");
    }

    private static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
