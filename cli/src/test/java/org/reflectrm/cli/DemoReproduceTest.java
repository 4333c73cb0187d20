package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * demo reproduce --quick: the whole chain (data, init, base SFT, sample, build, RFT and unified
 * GRPO, rejection-sampling SFT, eval, report) runs, its table names every system, and a rerun
 * resumes from the phase markers instead of redoing the work.
 */
class DemoReproduceTest {
    @TempDir
    Path dir;

    @Test
    void quickRunGoesThroughEveryPhaseAndARerunSkipsThem() throws IOException {
        Path out = dir.resolve("demo");
        CliTest.Run first = CliTest.ok("demo", "reproduce", "--quick", "--out", out.toString());
        for (String system : List.of("Base (SFT), greedy", "RFT (GRPO, Pref only), greedy", "Rejection-sampling SFT, greedy",
                "Unified GRPO, greedy", "Unified GRPO + two-stage")) {
            // Each system's row has an overall number with its interval in both tables.
            long rows = first.out().lines().filter(l -> l.startsWith(system) && l.matches(".*\\d+\\.\\d \\[\\d+\\.\\d, \\d+\\.\\d\\].*")).count();
            assertEquals(2, rows, system + " in\n" + first.out());
        }
        assertTrue(first.out().contains("add") && first.out().contains("cnt"), "per-task columns:\n" + first.out());
        assertTrue(Files.size(out.resolve("report.html")) > 1000);
        for (String model : List.of("base", "rft", "unified", "rs-sft")) {
            assertTrue(Files.isRegularFile(out.resolve(model).resolve("model.safetensors")), model);
        }
        CliTest.Run again = CliTest.ok("demo", "reproduce", "--quick", "--out", out.toString());
        assertEquals(14, again.err().lines().filter(l -> l.endsWith("done in an earlier run, skipped")).count(), again.err());
        assertEquals(first.out(), again.out(), "the same table from the same files");
        CliTest.bad(List.of("demo", "reproduce", "--quick", "--out", out.toString(), "--seed", "2"), "seed 1");
    }
}
