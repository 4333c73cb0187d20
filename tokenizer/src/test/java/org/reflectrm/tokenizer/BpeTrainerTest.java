package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java BPE trainer against HF tokenizers' BpeTrainer on the same corpus and settings
 * (make_bpe_trainer_fixture.py wrote bpe-trainer/tokenizer.json and encodings.json with tokenizers 0.23.2), with
 * Qwen2's split regex and, in bpe-trainer/llama3/, Llama 3's (digits kept together up to three).
 */
class BpeTrainerTest {
    private static final int VOCAB_SIZE = 400;

    private static String text(String name) {
        try (InputStream in = Fixtures.resource("bpe-trainer/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> corpus() {
        return Arrays.stream(text("corpus.txt").split("\n")).filter(s -> !s.isEmpty()).toList();
    }

    /** The fixture folders: Qwen2's split regex (the top folder) and Llama 3's (llama3/). */
    private static final String LLAMA3 = "llama3/";

    private static BpeTrainer.Result trained(String variant) {
        String regex = variant.equals(LLAMA3) ? BpeTrainer.LLAMA3_SPLIT_REGEX : BpeTrainer.QWEN2_SPLIT_REGEX;
        return BpeTrainer.qwen3Style(VOCAB_SIZE, regex).train(corpus());
    }

    private static JsonNode hf(String variant) throws IOException {
        return Fixtures.JSON.readTree(text(variant + "tokenizer.json"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", LLAMA3})
    void vocabularyMatchesHfIdForId(String variant) throws IOException {
        JsonNode hfVocab = hf(variant).get("model").get("vocab");
        List<String> expected = new ArrayList<>();
        hfVocab.fieldNames().forEachRemaining(expected::add);
        for (int id = 0; id < expected.size(); id++) {
            assertEquals(id, hfVocab.get(expected.get(id)).asInt());
        }
        assertEquals(expected, trained(variant).vocab());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", LLAMA3})
    void mergesMatchHfInOrder(String variant) throws IOException {
        List<String> expected = new ArrayList<>();
        for (JsonNode m : hf(variant).get("model").get("merges")) {
            expected.add(m.get(0).asText() + " " + m.get(1).asText());
        }
        List<String> actual = trained(variant).merges().stream().map(m -> m[0] + " " + m[1]).toList();
        assertEquals(VOCAB_SIZE - 3 - 256, actual.size());
        assertEquals(expected, actual);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", LLAMA3})
    void fileIsHfsByteForByte(String variant) throws IOException {
        String json = trained(variant).toJson();
        assertEquals(hf(variant), Fixtures.JSON.readTree(json));
        assertEquals(text(variant + "tokenizer.json"), json);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", LLAMA3})
    void loaderEncodesAsHf(String variant, @TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        trained(variant).write(file);
        Tokenizer tokenizer = Tokenizer.load(file);
        assertEquals(VOCAB_SIZE + 6, tokenizer.vocabSize());
        for (JsonNode probe : Fixtures.JSON.readTree(text(variant + "encodings.json"))) {
            String s = probe.get("text").asText();
            int[] ids = tokenizer.encode(s);
            assertArrayEquals(Fixtures.ints(probe.get("ids")), ids, s);
            // Byte-level BPE decodes to the normalized text.
            assertEquals(java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFC), tokenizer.decode(ids, false), s);
        }
        assertEquals(Files.readString(file), trained(variant).toJson());
    }

    @Test
    void stopsWhenNoPairIsLeft() {
        BpeTrainer.Result r = new BpeTrainer(10_000, 0, List.of("<s>"), List.of("<x>")).train(List.of("ab ab", "abc"));
        // "ab", "Ġab", "abc" and nothing more: ab (3) first, then Ġ+ab or ab+c (1 each; ties to the smaller ids).
        assertEquals(1 + 256 + 3, r.vocab().size());
        assertEquals("<s>", r.vocab().get(0));
        assertEquals("ab", r.vocab().get(257));
        assertEquals(new AddedToken(260, "<x>", false, false, false, false, false), r.addedTokens().get(1));
        Tokenizer t = r.tokenizer();
        assertArrayEquals(new int[] {257, 258}, t.encode("ab ab"));
    }
}
