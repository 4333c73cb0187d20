package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.function.Executable;

/** Builders for hand-made safetensors bytes and assertions on error messages. */
final class SafetensorsTestSupport {

    private SafetensorsTestSupport() {
    }

    /** A file whose length field is the header's exact byte length, followed by {@code data}. */
    static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, data);
    }

    /** A file with an arbitrary length field, header bytes and data bytes. */
    static byte[] raw(long lengthField, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(lengthField).put(header).put(data);
        return b.array();
    }

    static Path write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes 0, 1, 2, ... as a heap segment; distinct per tensor when {@code start} differs. */
    static MemorySegment counting(int size, int start) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (start + i);
        }
        return MemorySegment.ofArray(b);
    }

    /** Asserts that opening {@code file} fails with a message naming the file and every fragment. */
    static SafetensorsException assertRejected(Path file, String... fragments) {
        return assertMessage(() -> SafetensorsFile.open(file).close(), file.toString(), fragments);
    }

    /** Asserts a SafetensorsException whose message contains {@code subject} and every fragment. */
    static SafetensorsException assertMessage(Executable action, String subject, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, action);
        String m = e.getMessage();
        assertTrue(m.contains(subject), () -> "message does not name " + subject + ": " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message lacks '" + f + "': " + m);
        }
        return e;
    }
}
