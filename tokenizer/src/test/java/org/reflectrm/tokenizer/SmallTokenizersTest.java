package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity with Hugging Face on small tokenizers made by make_small_tokenizers.py: a ByteLevel BPE trained
 * there (both merge formats), variants with other post-processors, splits and normalizers, and a BPE that
 * is not byte-level (subword prefix, word suffix, fused unknown token, no decoder).
 */
class SmallTokenizersTest {
    private static final JsonNode CASES = Fixtures.jsonGz("small/cases.json.gz");

    static Stream<String> fixtures() {
        List<String> names = new ArrayList<>();
        CASES.get("cases").fieldNames().forEachRemaining(names::add);
        return names.stream();
    }

    static Tokenizer load(String name) {
        try (InputStream in = Fixtures.resource("small/" + name)) {
            return Tokenizer.fromJson(in, name);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void allFixturesArePresent() {
        assertEquals(10, fixtures().count());
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void matchesHf(String name) {
        Tokenizer tok = load(name);
        List<String> mismatches = new ArrayList<>();
        JsonNode rows = CASES.get("cases").get(name);
        assertTrue(rows.size() >= 300);
        for (JsonNode row : rows) {
            String text = row.get("text").textValue();
            int[] ids = tok.encode(text);
            int[] withSpecials = tok.encode(text, AddedTokenMatching.ALL, true);
            Map<String, Object> actual = Map.of(
                    "ids", ids,
                    "ids_special", withSpecials,
                    "untrusted", tok.encodeUntrusted(text),
                    "split_special", tok.encode(text, AddedTokenMatching.NON_SPECIAL, false),
                    "decoded", tok.decode(ids, false),
                    "decoded_skip", tok.decode(withSpecials, true));
            for (var e : actual.entrySet()) {
                JsonNode expected = row.get(e.getKey());
                boolean same = e.getValue() instanceof int[] a ? Arrays.equals(Fixtures.ints(expected), a)
                        : expected.textValue().equals(e.getValue());
                if (!same) {
                    mismatches.add(e.getKey() + " of " + Qwen3CorpusTest.escape(text) + ": HF " + expected + ", Java "
                            + (e.getValue() instanceof int[] a ? Arrays.toString(a)
                            : Qwen3CorpusTest.escape((String) e.getValue())));
                }
            }
        }
        for (JsonNode pair : CASES.get("pairs").get(name)) {
            String a = pair.get("a").textValue(), b = pair.get("b").textValue();
            if (!Arrays.equals(Fixtures.ints(pair.get("ids")), tok.encodePair(a, b, AddedTokenMatching.ALL, false))
                    || !Arrays.equals(Fixtures.ints(pair.get("ids_special")),
                    tok.encodePair(a, b, AddedTokenMatching.ALL, true))) {
                mismatches.add("pair " + Qwen3CorpusTest.escape(a) + " / " + Qwen3CorpusTest.escape(b));
            }
        }
        assertEquals(List.of(), mismatches.stream().limit(10).toList(), mismatches.size() + " mismatches");
    }

    @Test
    void bothMergeFormatsGiveTheSameTokenizer() {
        Tokenizer pairs = load("bytelevel.json"), strings = load("bytelevel-legacy.json");
        for (JsonNode row : CASES.get("cases").get("bytelevel.json")) {
            String text = row.get("text").textValue();
            assertArrayEquals(pairs.encode(text), strings.encode(text));
        }
    }

    @Test
    void addedTokenFlags() {
        Tokenizer tok = load("bytelevel.json");
        int mask = tok.tokenId("[MASK]").orElseThrow();
        int sep = tok.tokenId("<sep>").orElseThrow();
        int word = tok.tokenId("word").orElseThrow();
        int cafe = tok.tokenId("Cafe\u0301").orElseThrow();
        // lstrip absorbs the space before, rstrip the space after.
        assertArrayEquals(new String[] {"[MASK]"}, tok.tokens(new int[] {mask}));
        assertEquals(mask, tok.encode("x  [MASK]")[tok.encode("x  [MASK]").length - 1]);
        assertEquals("x[MASK]", tok.decode(tok.encode("x  [MASK]"), false).strip());
        assertEquals(sep, tok.encode("<sep>   y")[0]);
        // single_word: matched alone, not inside a word.
        assertEquals(word, tok.encode("word")[0]);
        assertTrue(Arrays.stream(tok.encode("swordfish")).noneMatch(id -> id == word));
        // normalized: matched after NFC, whichever form the text uses.
        assertEquals(cafe, tok.encode("Caf\u00e9")[0]);
        assertEquals(cafe, tok.encode("Cafe\u0301")[0]);
        assertTrue(tok.isSpecial(mask));
        assertTrue(!tok.isSpecial(sep));
    }
}
