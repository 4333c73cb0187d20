package org.reflectrm.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.reflectrm.model.BadInputException;

/**
 * One writer per output: an OS file lock ({@link FileChannel#tryLock}) on a lock file next to an
 * output file ({@code OUTPUT.lock}) or inside an output folder ({@code DIR/.lock}), held for the
 * whole command. A second run that finds it taken is refused at once with the holder's process id,
 * which the holder writes into the lock file. The OS releases the lock when its process ends,
 * however it ends, so a lock file left by a killed run does not block: the file itself means
 * nothing, only a live lock does. The file is never deleted (deleting it while another run opens it
 * would let two runs lock two different files).
 *
 * <p>Within one JVM a second lock on the same file is refused too ({@link OverlappingFileLockException}).
 * The lock file is only ever opened through the holder's channel, since on POSIX systems closing any
 * other descriptor of the file in the holding process would drop its lock.
 */
final class OutputLock implements AutoCloseable {
    /** What a user does after an interruption, for a command that resumes when run again. */
    static final String RERUN = "the same command resumes it";

    /**
     * The lock whose notice a signal prints: the outermost one held. A command run inside another
     * ({@code demo reproduce} runs {@code train sft}, which locks its own --out) takes its lock
     * too, but the user reruns the outer command, so only the outer one speaks.
     */
    private static OutputLock announcing;

    private final FileChannel channel;
    private final FileLock lock;
    private final Thread onSignal;

    private OutputLock(FileChannel channel, FileLock lock, Thread onSignal) {
        this.channel = channel;
        this.lock = lock;
        synchronized (OutputLock.class) {
            this.onSignal = announcing == null ? onSignal : null;
            if (this.onSignal != null) {
                announcing = this;
                Runtime.getRuntime().addShutdownHook(onSignal);
            }
        }
    }

    /**
     * The line a run prints when a signal (Ctrl-C, kill) ends it while it holds its output: what was
     * kept and how to go on. A shutdown hook is the one place the JVM runs code on SIGINT/SIGTERM; the
     * JVM still exits with 130/143. The hook only reads: the records in flight are whole or absent
     * whatever it does (see RecordAppender), and it must not delay a second signal's exit.
     */
    private static Thread interruptionNotice(Path output, boolean file, String resume) {
        return new Thread(() -> {
            String kept = output + " keeps what was finished";
            if (file) {
                try (var lines = Files.lines(output, StandardCharsets.UTF_8)) {
                    kept = output + " keeps " + lines.count() + " records";
                } catch (IOException | java.io.UncheckedIOException e) {
                    // the generic wording above
                }
            }
            System.err.println();
            System.err.println("reflectrm-j: interrupted; " + kept + "; " + resume + ".");
            System.err.flush();
        }, "reflectrm-interruption-notice");
    }

    /** Locks {@code output} (a file, which need not exist yet) through {@code OUTPUT.lock} beside it. */
    static OutputLock file(Path output, String option) throws IOException {
        Path abs = output.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return acquire(abs.resolveSibling(abs.getFileName() + ".lock"), option + " " + output,
                interruptionNotice(output, true, RERUN));
    }

    /** Locks the folder {@code dir} (created if missing) through {@code DIR/.lock}; a rerun resumes it. */
    static OutputLock folder(Path dir, String option) throws IOException {
        return folder(dir, option, RERUN);
    }

    /** As {@link #folder(Path, String)}, with {@code resume} saying how to go on after an interruption. */
    static OutputLock folder(Path dir, String option, String resume) throws IOException {
        Files.createDirectories(dir);
        return acquire(dir.resolve(".lock"), option + " " + dir, interruptionNotice(dir, false, resume));
    }

    private static OutputLock acquire(Path lockFile, String what, Thread onSignal) throws IOException {
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            channel.close();
            throw inUse(what, ProcessHandle.current().pid());
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = readHolder(channel);
            channel.close();
            throw inUse(what, holder);
        }
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(false);
        } catch (IOException e) {
            lock.release();
            channel.close();
            throw e;
        }
        return new OutputLock(channel, lock, onSignal);
    }

    /** The holder's pid as it wrote it, read through our own (unlocked) channel; "unknown" if it has not yet. */
    private static String readHolder(FileChannel channel) {
        try {
            ByteBuffer buf = ByteBuffer.allocate(32);
            channel.read(buf, 0);
            String s = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).trim();
            return s.matches("\\d+") ? s : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static BadInputException inUse(String what, Object pid) {
        return new BadInputException(what + " is being written by another reflectrm-j run (pid " + pid
                + "); wait for it or choose another output");
    }

    @Override
    public void close() throws IOException {
        synchronized (OutputLock.class) {
            if (onSignal != null) {
                announcing = null;
                try {
                    Runtime.getRuntime().removeShutdownHook(onSignal);
                } catch (IllegalStateException alreadyShuttingDown) {
                    // the notice prints anyway
                }
            }
        }
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
