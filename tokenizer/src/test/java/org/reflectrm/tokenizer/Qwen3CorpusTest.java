package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Parity with Hugging Face {@code tokenizers} on the committed corpus (make_corpus.py): every string's
 * ids in the three added-token modes, the decode round trip, and HF's decode of random id sequences.
 */
class Qwen3CorpusTest {
    private static final List<JsonNode> CORPUS = Fixtures.jsonLinesGz("qwen3/corpus.jsonl.gz");
    private final Tokenizer tok = Fixtures.qwen3();

    @Test
    void corpusIsLargeAndVaried() {
        assertTrue(CORPUS.size() >= 2000, "corpus has " + CORPUS.size() + " strings");
        long withAdded = CORPUS.stream().filter(r -> !r.get("ids").equals(r.get("untrusted"))).count();
        assertTrue(withAdded > 100, "strings where added tokens matter: " + withAdded);
    }

    @Test
    void encodeMatchesHf() {
        assertNoMismatch("ids", text -> tok.encode(text));
    }

    @Test
    void encodeUntrustedMatchesHfWithoutAddedTokens() {
        assertNoMismatch("untrusted", text -> tok.encodeUntrusted(text));
    }

    @Test
    void nonSpecialModeMatchesHfEncodeSpecialTokens() {
        assertNoMismatch("split_special", text -> tok.encode(text, AddedTokenMatching.NON_SPECIAL, false));
    }

    @Test
    void decodeOfEncodeIsNfcOfInput() {
        List<String> mismatches = new ArrayList<>();
        for (JsonNode row : CORPUS) {
            String text = row.get("text").textValue();
            String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
            for (int[] ids : new int[][] {tok.encode(text), tok.encodeUntrusted(text)}) {
                if (!tok.decode(ids, false).equals(nfc)) {
                    mismatches.add(escape(text));
                }
            }
        }
        assertEquals(List.of(), mismatches);
    }

    @Test
    void decodeMatchesHf() {
        List<String> mismatches = new ArrayList<>();
        List<JsonNode> rows = Fixtures.jsonLinesGz("qwen3/decode.jsonl.gz");
        for (JsonNode row : rows) {
            int[] ids = Fixtures.ints(row.get("ids"));
            if (!tok.decode(ids, false).equals(row.get("text").textValue())
                    || !tok.decode(ids, true).equals(row.get("text_skip").textValue())) {
                mismatches.add(Arrays.toString(ids));
            }
        }
        assertEquals(List.of(), mismatches);
        assertTrue(rows.size() >= 500);
    }

    @Test
    void streamDecoderAddsUpToDecode() {
        for (JsonNode row : Fixtures.jsonLinesGz("qwen3/decode.jsonl.gz")) {
            int[] ids = Fixtures.ints(row.get("ids"));
            for (boolean skip : new boolean[] {false, true}) {
                StreamDecoder stream = tok.streamDecoder(skip);
                StringBuilder text = new StringBuilder();
                for (int id : ids) {
                    String piece = stream.next(id);
                    assertTrue(piece.isEmpty() || !Character.isHighSurrogate(piece.charAt(piece.length() - 1)));
                    text.append(piece);
                }
                text.append(stream.finish());
                assertEquals(tok.decode(ids, skip), text.toString(), Arrays.toString(ids));
            }
        }
    }

    private interface Encoder {
        int[] encode(String text);
    }

    private void assertNoMismatch(String column, Encoder encoder) {
        List<String> mismatches = new ArrayList<>();
        for (JsonNode row : CORPUS) {
            String text = row.get("text").textValue();
            int[] expected = Fixtures.ints(row.get(column));
            int[] actual = encoder.encode(text);
            if (!Arrays.equals(expected, actual)) {
                mismatches.add(escape(text) + "\n  HF:   " + Arrays.toString(expected) + "\n  Java: "
                        + Arrays.toString(actual));
            }
        }
        assertEquals(0, mismatches.size(), mismatches.size() + " mismatches of " + CORPUS.size() + ", first: "
                + mismatches.stream().limit(5).toList());
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F) {
                sb.appendCodePoint(cp);
            } else {
                sb.append(String.format("\\u{%X}", cp));
            }
        });
        return sb.append('"').toString();
    }
}
