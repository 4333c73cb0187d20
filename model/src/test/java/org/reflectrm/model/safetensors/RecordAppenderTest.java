package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A JSONL file written through RecordAppender ends at a record boundary even when the disk fills mid-record. */
class RecordAppenderTest {
    @TempDir
    Path dir;

    @Test
    void appendsWholeLines() throws IOException {
        Path f = dir.resolve("out.jsonl");
        Files.writeString(f, "{\"id\":0}\n");
        try (RecordAppender a = new RecordAppender(f)) {
            a.append("{\"id\":1}\n");
            a.append("{\"id\":2}\n{\"id\":3}\n");
        }
        assertEquals("{\"id\":0}\n{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n", Files.readString(f));
        try (RecordAppender a = new RecordAppender(f)) {
            assertThrows(IllegalArgumentException.class, () -> a.append("{\"id\":4}"));
        }
    }

    @Test
    void aFullDiskMidRecordCutsTheFileBackToItsLastWholeRecordAndNamesTheFile() throws IOException {
        Path f = dir.resolve("out.jsonl");
        Files.writeString(f, "{\"id\":0}\n");
        FileChannel real = FileChannel.open(f, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        // Room for 14 more bytes: the first record fits, the second is cut after 5 of its bytes.
        try (RecordAppender a = new RecordAppender(f, new FillingChannel(real, 9 + 14))) {
            a.append("{\"id\":1}\n");
            IOException e = assertThrows(IOException.class, () -> a.append("{\"id\":2,\"analysis\":\"long\"}\n"));
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertTrue(e.getMessage().contains("rerun"), e.getMessage());
        }
        assertEquals("{\"id\":0}\n{\"id\":1}\n", Files.readString(f, StandardCharsets.UTF_8));
    }

    /** A file channel on a disk that fills at {@code capacity} bytes: writes stop part way, then fail. */
    private static final class FillingChannel extends FileChannel {
        private final FileChannel real;
        private final long capacity;

        FillingChannel(FileChannel real, long capacity) {
            this.real = real;
            this.capacity = capacity;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            long room = capacity - real.size();
            if (room <= 0) {
                throw new IOException("No space left on device");
            }
            if (src.remaining() <= room) {
                return real.write(src);
            }
            ByteBuffer part = src.slice(src.position(), (int) room);
            int n = real.write(part);
            src.position(src.position() + n);
            return n;
        }

        @Override
        public long size() throws IOException {
            return real.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            real.truncate(size);
            return this;
        }

        @Override
        protected void implCloseChannel() throws IOException {
            real.close();
        }

        // Not used by RecordAppender.
        @Override
        public int read(ByteBuffer dst) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long position() {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileChannel position(long newPosition) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void force(boolean metaData) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            throw new UnsupportedOperationException();
        }

        @Override
        public int write(ByteBuffer src, long position) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException();
        }
    }
}
