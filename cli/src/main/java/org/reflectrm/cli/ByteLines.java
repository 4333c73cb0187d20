package org.reflectrm.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a JSONL input as raw byte lines, so that one line of bad bytes spoils only that line: each line is
 * decoded on its own, strictly, by {@link #utf8}. Lines end at {@code \n}; a {@code \r} before it is dropped
 * (CRLF files), as is a UTF-8 byte-order mark at the very start. A final line without {@code \n} counts; the
 * empty string after a final {@code \n} does not.
 */
final class ByteLines {
    private final InputStream in;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int end;
    private boolean eof;
    private boolean first = true;

    ByteLines(InputStream in) {
        this.in = in;
    }

    /** The next line's bytes (without the line end), or null at the end of the input. */
    byte[] next() throws IOException {
        line.reset();
        while (true) {
            if (pos == end) {
                if (eof) {
                    break;
                }
                end = in.read(buf);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    eof = true;
                    break;
                }
            }
            int start = pos;
            while (pos < end && buf[pos] != '\n') {
                pos++;
            }
            line.write(buf, start, pos - start);
            if (pos < end) {
                pos++; // the '\n'
                return finish();
            }
        }
        // end of input: a last line without '\n' (if any)
        return line.size() == 0 ? null : finish();
    }

    private byte[] finish() {
        byte[] b = line.toByteArray();
        int from = 0;
        int to = b.length;
        if (first && to >= 3 && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF) {
            from = 3;
        }
        first = false;
        if (to > from && b[to - 1] == '\r') {
            to--;
        }
        return from == 0 && to == b.length ? b : java.util.Arrays.copyOfRange(b, from, to);
    }

    /** Thrown by {@link #utf8} for bytes that are not well-formed UTF-8; the message says where. */
    static final class NotUtf8 extends Exception {
        private static final long serialVersionUID = 1L;

        NotUtf8(String message) {
            super(message);
        }
    }

    /** Decodes strictly (a malformed sequence is an error, never U+FFFD). */
    static String utf8(byte[] bytes) throws NotUtf8 {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never gives more UTF-16 units than bytes
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) {
            r = d.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            throw new NotUtf8(String.format("not valid UTF-8: bad byte sequence at byte %d (0x%02X)",
                    at + 1, bytes[at] & 0xff));
        }
        return out.flip().toString();
    }
}
