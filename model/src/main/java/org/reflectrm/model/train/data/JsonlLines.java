package org.reflectrm.model.train.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits JSONL bytes into lines, so that bad bytes spoil only their own line: lines end at {@code \n}, a
 * {@code \r} before it is dropped (CRLF files), as is a UTF-8 byte-order mark at the very start. A final line
 * without {@code \n} counts; the empty string after a final {@code \n} does not. Each line is decoded on its own,
 * strictly ({@link #utf8}).
 */
public final class JsonlLines {

    private JsonlLines() {
    }

    /** The byte ranges {@code [start, end)} of the lines (without line ends), as pairs. */
    public static List<int[]> split(byte[] data) {
        List<int[]> lines = new ArrayList<>();
        int start = data.length >= 3 && (data[0] & 0xff) == 0xEF && (data[1] & 0xff) == 0xBB
                && (data[2] & 0xff) == 0xBF ? 3 : 0;
        int i = start;
        while (i < data.length) {
            if (data[i] == '\n') {
                int end = i > start && data[i - 1] == '\r' ? i - 1 : i;
                lines.add(new int[] {start, end});
                start = i + 1;
            }
            i++;
        }
        if (start < data.length) {
            lines.add(new int[] {start, data.length});
        }
        return lines;
    }

    /** A line that is not UTF-8; the message says where. */
    public static final class NotUtf8 extends Exception {
        NotUtf8(String message) {
            super(message, null, false, false);
        }
    }

    /** Decodes {@code data[start, end)} as UTF-8, refusing malformed input (the message gives the bad byte). */
    public static String utf8(byte[] data, int start, int end) throws NotUtf8 {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(data, start, end - start);
        CharBuffer out = CharBuffer.allocate(end - start);
        CoderResult r = dec.decode(in, out, true);
        if (!r.isError()) {
            r = dec.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            throw new NotUtf8("not valid UTF-8: byte 0x"
                    + String.format(Locale.ROOT, "%02X", data[Math.min(at, end - 1)] & 0xff)
                    + " at byte " + (at - start + 1) + " of the line");
        }
        return out.flip().toString();
    }
}
