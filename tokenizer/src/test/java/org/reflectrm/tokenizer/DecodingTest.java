package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** UTF-8 replacement rules and the streaming decoder. */
class DecodingTest {

    private static String lossy(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return Utf8.decodeLossy(b, b.length);
    }

    @Test
    void maximalSubpartsBecomeOneReplacementEach() {
        // Expected strings from Python's bytes.decode("utf-8", "replace"), which HF's decode agrees with.
        assertEquals("\uFFFD\uFFFD\uFFFDA\uFFFDA" + "\uFFFD".repeat(9), lossy(0xED, 0xA0, 0x80, 0x41, 0xF0, 0x9F, 0x41,
                0xC0, 0xAF, 0xE0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xF0, 0x9F, 0x98));
        assertEquals("\uD83E\uDD80", lossy(0xF0, 0x9F, 0xA6, 0x80));
        assertEquals("\uFFFD", lossy(0xF0, 0x9F, 0xA6));
        assertEquals("\uFFFD\uFFFD", lossy(0xFF, 0xFE));
        assertEquals("\u00e9\uFFFD", lossy(0xC3, 0xA9, 0xC3));
        assertEquals("\uDBFF\uDFFF", lossy(0xF4, 0x8F, 0xBF, 0xBF));
        assertEquals("", lossy());
    }

    @Test
    void lossyDecodingMatchesTheJdkOnValidUtf8() {
        SplittableRandom random = new SplittableRandom(3);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = random.nextInt(12); i > 0; i--) {
                int cp;
                do {
                    cp = random.nextInt(Character.MAX_CODE_POINT + 1);
                } while (Character.isSurrogate((char) cp) && cp <= 0xFFFF);
                sb.appendCodePoint(cp);
            }
            byte[] bytes = Utf8.encode(sb.toString());
            assertEquals(sb.toString(), Utf8.decodeLossy(bytes, bytes.length));
        }
    }

    @Test
    void streamDecoderHoldsBackCutCharacters() {
        Tokenizer tok = Fixtures.qwen3();
        StreamDecoder stream = tok.streamDecoder(false);
        assertEquals(" ", stream.next(11162)); // " " + first two bytes of U+1F980
        assertTrue(stream.hasPendingBytes());
        assertEquals("", stream.next(99));
        assertEquals("\uD83E\uDD80", stream.next(222));
        assertFalse(stream.hasPendingBytes());
        assertEquals("", stream.finish());

        assertEquals(" ", stream.next(11162));
        assertEquals("", stream.next(99));
        assertEquals("\uFFFD", stream.finish());

        StreamDecoder skipping = tok.streamDecoder(true);
        assertEquals("", skipping.next(151644));
        assertEquals("assistant", skipping.next(77091));
        assertEquals("<think>", skipping.next(151667));
        assertEquals("", skipping.next(151645));
    }

    @Test
    void streamDecoderWithoutDecoderJoinsWithSpaces() {
        Tokenizer tok = SmallTokenizersTest.load("charbpe.json");
        int[] ids = tok.encode("brown fox jumps");
        StreamDecoder stream = tok.streamDecoder(false);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(stream.next(id));
        }
        sb.append(stream.finish());
        assertEquals(tok.decode(ids, false), sb.toString());
    }
}
