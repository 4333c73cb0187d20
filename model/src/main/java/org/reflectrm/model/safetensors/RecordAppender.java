package org.reflectrm.model.safetensors;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends whole records to a JSONL file: each {@link #append} writes one or more complete lines or,
 * if the write fails part way (a full disk, a quota, an I/O error), cuts the file back to where it
 * was and throws an error that names the file. The file thus always ends at a record boundary, and
 * a rerun resumes from the records it holds. (A kill -9 in mid-write can still leave a torn last
 * line; the readers that resume cut it off.)
 */
public final class RecordAppender implements Closeable {
    private final Path file;
    private final FileChannel channel;

    public RecordAppender(Path file) throws IOException {
        this(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
    }

    /** Over an open channel in append mode (tests inject failing ones). */
    RecordAppender(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Appends {@code lines}: whole lines, each ending in a newline. */
    public void append(String lines) throws IOException {
        if (!lines.isEmpty() && lines.charAt(lines.length() - 1) != '\n') {
            throw new IllegalArgumentException("a record must end with a newline");
        }
        long before = channel.size();
        ByteBuffer buf = ByteBuffer.wrap(lines.getBytes(StandardCharsets.UTF_8));
        try {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        } catch (IOException e) {
            String kept;
            try {
                channel.truncate(before);
                kept = "it keeps the records written before this one";
            } catch (IOException again) {
                kept = "it could not be cut back to its last whole record (" + again.getMessage()
                        + "): the rerun drops the torn line";
            }
            throw new IOException("cannot write to " + file + ": " + e.getMessage() + "; " + kept
                    + ". Make room and rerun the same command to resume.", e);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
