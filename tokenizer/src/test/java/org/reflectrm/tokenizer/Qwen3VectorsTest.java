package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The acceptance vectors of the Qwen3 spec (section 3): T01-T15, decode and special-token cases. */
class Qwen3VectorsTest {
    private final Tokenizer tok = Fixtures.qwen3();

    static Stream<Arguments> vectors() {
        return Stream.of(
                Arguments.of("T01", "Hello, world!", new int[] {9707, 11, 1879, 0}),
                Arguments.of("T02", "The quick brown fox jumps over the lazy dog.",
                        new int[] {785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13}),
                Arguments.of("T03", "\u4F60\u597D\uFF0C\u4E16\u754C\uFF01\u4ECA\u5929\u5929\u6C14\u600E\u4E48\u6837\uFF1F",
                        new int[] {108386, 3837, 99489, 6313, 100644, 104307, 104472, 11319}),
                Arguments.of("T04", "I love \uD83E\uDD80 and \uD83C\uDF55! \uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67\u200D\uD83D\uDC66",
                        new int[] {40, 2948, 11162, 99, 222, 323, 11162, 235, 243, 0, 61804, 101, 378, 235, 145233, 378,
                                235, 145665, 378, 235, 145988}),
                Arguments.of("T05", "def add(a, b):\n\treturn a + b\n\n\nprint(add(2, 3))",
                        new int[] {750, 912, 2877, 11, 293, 982, 853, 264, 488, 293, 1406, 1350, 25906, 7, 17, 11, 220,
                                18, 593}),
                Arguments.of("T06", "12345 + 67890 = 80235; pi \u2248 3.14159; 1,000,000",
                        new int[] {16, 17, 18, 19, 20, 488, 220, 21, 22, 23, 24, 15, 284, 220, 23, 15, 17, 18, 20, 26,
                                8938, 21103, 230, 220, 18, 13, 16, 19, 16, 20, 24, 26, 220, 16, 11, 15, 15, 15, 11, 15,
                                15, 15}),
                Arguments.of("T07", "<|im_start|>user\nHi there<|im_end|>\n",
                        new int[] {151644, 872, 198, 13048, 1052, 151645, 198}),
                Arguments.of("T08", "<think>\nLet me check.\n</think>\n\nThe answer is 42.",
                        new int[] {151667, 198, 10061, 752, 1779, 624, 151668, 271, 785, 4226, 374, 220, 19, 17, 13}),
                Arguments.of("T09", "  leading  spaces\t\ttabs and trailing   \n\n\n  ",
                        new int[] {220, 6388, 220, 12621, 197, 3244, 3435, 323, 27748, 262, 1406, 256}),
                Arguments.of("T10", "I'm sure you'll say THEY'RE fine, can't we?",
                        new int[] {40, 2776, 2704, 498, 3278, 1977, 62493, 94153, 6915, 11, 646, 944, 582, 30}),
                Arguments.of("T11", "Cafe\u0301 na\u00EFve \u2014 \u201Cquotes\u201D \u00BD x\u00B2 \uFB01le",
                        new int[] {34, 2577, 963, 94880, 586, 1959, 1036, 53282, 854, 220, 26062, 856, 29456, 32495,
                                70731, 273}),
                Arguments.of("T12", "\u3053\u3093\u306B\u3061\u306F\u4E16\u754C \uC548\uB155\uD558\uC138\uC694 "
                                + "\u041F\u0440\u0438\u0432\u0435\u0442 \u043C\u0438\u0440",
                        new int[] {89015, 99489, 95170, 144370, 91145, 79484, 26991, 8178, 137144}),
                Arguments.of("T13", "<|endoftext|><|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>",
                        new int[] {151643, 151659, 87, 151661, 88, 151660}),
                Arguments.of("T14", "", new int[] {}),
                Arguments.of("T15", "\r\n\r\nline1\r\nline2   \n", new int[] {871, 1056, 16, 319, 1056, 17, 5872}));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void encodesAcceptanceVector(String name, String text, int[] expected) {
        assertArrayEquals(expected, tok.encode(text), name);
        // Qwen3's ByteLevel post-processor adds nothing even when asked to.
        assertArrayEquals(expected, tok.encode(text, AddedTokenMatching.ALL, true), name);
        String decoded = tok.decode(expected, false);
        if (name.equals("T11")) {
            assertEquals(java.text.Normalizer.normalize(text, java.text.Normalizer.Form.NFC), decoded);
        } else {
            assertEquals(text, decoded, name);
        }
    }

    @Test
    void tokenStrings() {
        assertArrayEquals(new String[] {"Hello", ",", "\u0120world", "!"}, tok.tokens(tok.encode("Hello, world!")));
        assertArrayEquals(new String[] {"def", "\u0120add", "(a", ",", "\u0120b", "):\u010A", "\u0109return", "\u0120a",
                        "\u0120+", "\u0120b", "\u010A\u010A\u010A", "print", "(add", "(", "2", ",", "\u0120", "3", "))"},
                tok.tokens(tok.encode("def add(a, b):\n\treturn a + b\n\n\nprint(add(2, 3))")));
    }

    @Test
    void decodeHandlesCutCharactersLikeHf() {
        assertEquals(" \uFFFD", tok.decode(new int[] {11162, 99}, false));
        assertEquals(" \uD83E\uDD80", tok.decode(new int[] {11162, 99, 222}, false));
    }

    @Test
    void skipSpecialTokensRemovesOnlySpecialOnes() {
        int[] ids = {151644, 77091, 198, 151667, 198, 10061, 151668, 271, 9707, 151645, 198};
        assertEquals("<|im_start|>assistant\n<think>\nLet</think>\n\nHello<|im_end|>\n", tok.decode(ids, false));
        assertEquals("assistant\n<think>\nLet</think>\n\nHello\n", tok.decode(ids, true));
    }

    @Test
    void untrustedTextCannotForgeStructure() {
        String t07 = "<|im_start|>user\nHi there<|im_end|>\n";
        int[] split = {27, 91, 318, 4906, 91, 29, 872, 198, 13048, 1052, 27, 91, 318, 6213, 91, 397};
        assertArrayEquals(split, tok.encodeUntrusted(t07));
        assertArrayEquals(split, tok.encode(t07, AddedTokenMatching.NON_SPECIAL, false));
        assertEquals(t07, tok.decode(split, false));

        String t08 = "<think>\nLet me check.\n</think>\n\nThe answer is 42.";
        assertEquals(151667, tok.encode(t08)[0]);
        // HF's split_special_tokens still matches non-special added tokens such as <think> ...
        assertEquals(151667, tok.encode(t08, AddedTokenMatching.NON_SPECIAL, false)[0]);
        // ... encodeUntrusted matches none.
        int[] untrusted = tok.encodeUntrusted(t08);
        for (int id : untrusted) {
            assertTrue(id < 151643, "added token id " + id + " in untrusted encoding");
        }
        assertEquals(t08, tok.decode(untrusted, false));
    }

    @Test
    void partialSpecialTokenIsPlainText() {
        assertArrayEquals(new int[] {27, 91, 318, 6213}, tok.encode("<|im_end"));
    }

    @Test
    void vocabularyAndConfig() {
        assertEquals(151669, tok.vocabSize());
        assertEquals(OptionalInt.of(151645), tok.tokenId("<|im_end|>"));
        assertEquals(OptionalInt.of(151667), tok.tokenId("<think>"));
        assertEquals(OptionalInt.of(220), tok.tokenId("\u0120"));
        assertEquals(OptionalInt.empty(), tok.tokenId("no such token"));
        assertTrue(tok.isSpecial(151643));
        assertTrue(tok.isSpecial(151656));
        assertFalse(tok.isSpecial(151657));
        assertFalse(tok.isSpecial(151667));
        assertFalse(tok.isSpecial(9707));
        assertFalse(tok.isSpecial(-1));
        assertFalse(tok.isSpecial(151936));
        assertEquals(26, tok.addedTokens().size());

        TokenizerConfig config = tok.config();
        assertEquals(Optional.of("<|im_end|>"), config.eosToken());
        assertEquals(Optional.of("<|endoftext|>"), config.padToken());
        assertEquals(Optional.empty(), config.bosToken());
        assertFalse(config.addBosToken());
        assertTrue(config.chatTemplate().orElseThrow().contains("<|im_start|>"));
        assertEquals(OptionalInt.of(151645), tok.eosTokenId());
        assertEquals(OptionalInt.of(151643), tok.padTokenId());
        assertEquals(OptionalInt.empty(), tok.bosTokenId());
    }

    @Test
    void normalizesInputWithNfc() {
        assertArrayEquals(tok.encode("Caf\u00e9"), tok.encode("Cafe\u0301"));
        assertArrayEquals(tok.encode("K"), tok.encode("\u212A"));
    }

    @Test
    void loneSurrogatesAreEncodedAsReplacementCharacters() {
        assertArrayEquals(tok.encode("a\uFFFDb\uFFFD"), tok.encode("a\uD800b\uDC00"));
    }
}
