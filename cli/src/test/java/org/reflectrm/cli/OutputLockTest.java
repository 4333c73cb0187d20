package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.model.BadInputException;

/** One writer per output: a second lock is refused naming the holder, and a killed holder's lock does not block. */
class OutputLockTest {
    @TempDir
    Path dir;

    @Test
    void secondLockInTheSameJvmIsRefusedAndFreedOnClose() throws IOException {
        Path out = dir.resolve("verdicts.jsonl");
        try (OutputLock first = OutputLock.file(out, "--output")) {
            BadInputException e = assertThrows(BadInputException.class, () -> OutputLock.file(out, "--output"));
            assertTrue(e.getMessage().contains("--output " + out + " is being written by another reflectrm-j run (pid "
                    + ProcessHandle.current().pid() + ")"), e.getMessage());
            assertTrue(e.getMessage().contains("wait for it or choose another output"), e.getMessage());
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(dir.resolve("verdicts.jsonl.lock")));
        }
        try (OutputLock again = OutputLock.file(out, "--output")) {
            // free again once closed
        }
        Path folder = dir.resolve("run");
        try (OutputLock first = OutputLock.folder(folder, "--out")) {
            assertTrue(Files.isRegularFile(folder.resolve(".lock")));
            assertThrows(BadInputException.class, () -> OutputLock.folder(folder, "--out"));
        }
    }

    /** Every writing command takes the lock before reading or loading anything. */
    @Test
    void commandsRefuseAnOutputInUse() throws IOException {
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, "{\"id\": \"p\", \"prompt\": \"q\", \"response_a\": \"x\", \"response_b\": \"y\", \"label\": \"A\"}\n");
        Path out = dir.resolve("out.jsonl");
        Path folder = dir.resolve("train-out");
        String busy = "is being written by another reflectrm-j run (pid " + ProcessHandle.current().pid() + ")";
        try (OutputLock held = OutputLock.file(out, "--output"); OutputLock heldFolder = OutputLock.folder(folder, "--out")) {
            CliTest.bad(List.of("judge", "--model", dir.resolve("no-model").toString(), "--input", input.toString(),
                    "--output", out.toString()), "--output " + out + " " + busy);
            CliTest.bad(List.of("data", "sample", "--model", dir.resolve("no-model").toString(), "--input", input.toString(),
                    "--output", out.toString()), busy);
            CliTest.bad(List.of("train", "sft", "--model", dir.resolve("no-model").toString(), "--data", input.toString(),
                    "--out", folder.toString(), "--steps", "1"), "--out " + folder + " " + busy);
            CliTest.bad(List.of("train", "grpo", "--model", dir.resolve("no-model").toString(), "--data", input.toString(),
                    "--out", folder.toString(), "--steps", "1"), busy);
        }
    }

    /** A lock held by another process names its pid; killed, it blocks no more. */
    @Test
    void anotherProcessHoldsTheLockUntilItIsKilled() throws Exception {
        Path out = dir.resolve("shared.jsonl");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                out.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", lines.readLine());
            BadInputException e = assertThrows(BadInputException.class, () -> OutputLock.file(out, "--output"));
            assertTrue(e.getMessage().contains("(pid " + holder.pid() + ")"), e.getMessage());
        } finally {
            holder.destroyForcibly(); // SIGKILL: no chance to clean up, as with a crash
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        assertTrue(Files.exists(dir.resolve("shared.jsonl.lock")), "the stale lock file is left behind");
        try (OutputLock mine = OutputLock.file(out, "--output")) {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(dir.resolve("shared.jsonl.lock")));
        }
    }

    /**
     * SIGTERM to a run that holds its output: the JVM exits with 143 after one line saying what the
     * output keeps and how to resume; a run that released its output exits without it.
     */
    @Test
    void aSignalEndsTheRunWithANoticeOfWhatWasKept() throws Exception {
        Path out = dir.resolve("judged.jsonl");
        Files.writeString(out, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                out.toString()).redirectErrorStream(true).start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("locked", lines.readLine());
        holder.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its output)
        String rest = String.join("\n", lines.lines().toList()); // to the end of the output
        assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        assertEquals(143, holder.exitValue());
        assertTrue(rest.contains("reflectrm-j: interrupted; " + out + " keeps 3 records; the same command resumes it."), rest);

        // a command run inside another (demo reproduce's train sft): only the outer one, which the user reruns, speaks
        Process nested = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                out.toString(), "nested").redirectErrorStream(true).start();
        BufferedReader nestedLines = new BufferedReader(new InputStreamReader(nested.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("locked", nestedLines.readLine());
        nested.toHandle().destroy();
        String nestedRest = String.join("\n", nestedLines.lines().toList());
        assertTrue(nested.waitFor(30, TimeUnit.SECONDS));
        assertEquals(143, nested.exitValue());
        assertTrue(nestedRest.contains("reflectrm-j: interrupted; " + out.resolveSibling("outer") + " keeps what was finished"), nestedRest);
        assertFalse(nestedRest.contains("keeps 3 records"), nestedRest);

        Process finished = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Holder.class.getName(),
                out.toString(), "release").redirectErrorStream(true).start();
        String all = new String(finished.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(finished.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, finished.exitValue());
        assertEquals("locked\n", all);
    }

    /**
     * Run in a child JVM: takes the lock, says so, and holds it until killed (given "release", releases it
     * and exits; given "nested", holds a folder lock beside it first, as demo reproduce holds its --out).
     */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            if (args.length > 1 && args[1].equals("nested")) {
                OutputLock.folder(Path.of(args[0]).resolveSibling("outer"), "--out");
            }
            OutputLock lock = OutputLock.file(Path.of(args[0]), "--output");
            System.out.println("locked");
            System.out.flush();
            if (args.length < 2 || !args[1].equals("release")) {
                Thread.sleep(Long.MAX_VALUE);
            }
            lock.close();
        }
    }
}
