package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed or unsupported files and out-of-range ids give one clear message naming file, path or id. */
class BadInputTest {

    private static ObjectNode small() {
        try (InputStream in = Fixtures.resource("small/bytelevel.json")) {
            return (ObjectNode) Fixtures.JSON.readTree(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Tokenizer load(byte[] json) {
        return Tokenizer.fromJson(new ByteArrayInputStream(json), "bad.json");
    }

    /** Applies {@code edit} to the small tokenizer's JSON and expects a load error mentioning all of {@code parts}. */
    private static void assertRejected(Consumer<ObjectNode> edit, String... parts) {
        ObjectNode json = small();
        edit.accept(json);
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> load(json.toString().getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().startsWith("bad.json: "), e.getMessage());
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message \"" + e.getMessage() + "\" lacks \"" + part + "\"");
        }
    }

    private static ObjectNode obj(JsonNode node, String field) {
        return (ObjectNode) node.get(field);
    }

    @Test
    void malformedJson() {
        byte[] json = small().toString().getBytes(StandardCharsets.UTF_8);
        byte[] truncated = java.util.Arrays.copyOf(json, json.length / 2);
        TokenizerException e = assertThrows(TokenizerException.class, () -> load(truncated));
        assertTrue(e.getMessage().startsWith("bad.json: not valid JSON at line "), e.getMessage());
        e = assertThrows(TokenizerException.class, () -> load("[1, 2]".getBytes(StandardCharsets.UTF_8)));
        assertEquals("bad.json: $: expected a JSON object", e.getMessage());
        assertThrows(TokenizerException.class, () -> load(new byte[0]));
        assertThrows(TokenizerException.class, () -> load("{} {}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void unsupportedComponentsAreNamedWithTheirPath() {
        assertRejected(j -> j.putObject("normalizer").put("type", "Lowercase"), "$.normalizer.type", "\"Lowercase\"");
        assertRejected(j -> {
            ArrayNode steps = j.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
            steps.addObject().put("type", "NFC");
            steps.addObject().put("type", "Strip");
        }, "$.normalizer.normalizers[1].type", "\"Strip\"");
        assertRejected(j -> j.putObject("pre_tokenizer").put("type", "Metaspace"), "$.pre_tokenizer.type", "Metaspace");
        assertRejected(j -> {
            ObjectNode split = j.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers").addObject();
            split.put("type", "Split").put("behavior", "MergedWithPrevious").put("invert", false);
            split.putObject("pattern").put("String", " ");
        }, "$.pre_tokenizer.pretokenizers[0].behavior", "MergedWithPrevious");
        assertRejected(j -> {
            ObjectNode split = j.putObject("pre_tokenizer").put("type", "Split").put("behavior", "Isolated");
            split.putObject("pattern").put("Regex", "(unclosed");
        }, "$.pre_tokenizer.pattern.Regex");
        assertRejected(j -> obj(j, "model").put("type", "WordPiece"), "$.model.type", "WordPiece");
        assertRejected(j -> obj(j, "model").put("byte_fallback", true), "$.model.byte_fallback");
        assertRejected(j -> obj(j, "model").put("dropout", 0.1), "$.model.dropout", "0.1");
        assertRejected(j -> j.putObject("decoder").put("type", "WordPiece"), "$.decoder.type", "WordPiece");
        assertRejected(j -> j.putObject("post_processor").put("type", "Foo"), "$.post_processor.type", "Foo");
        assertRejected(j -> j.putObject("truncation").put("max_length", 8), "$.truncation");
        assertRejected(j -> j.putObject("padding").put("strategy", "BatchLongest"), "$.padding");
    }

    @Test
    void brokenModelData() {
        assertRejected(j -> ((ArrayNode) j.get("model").get("merges")).insertArray(3).add("no-such").add("token"),
                "$.model.merges[3]", "\"no-such\"");
        assertRejected(j -> ((ObjectNode) j.get("model")).putArray("merges").add("abc"), "$.model.merges[0]", "\"abc\"");
        assertRejected(j -> ((ObjectNode) j.get("model")).putArray("merges").add(3), "$.model.merges[0]");
        assertRejected(j -> obj(obj(j, "model"), "vocab").put("x", -4), "$.model.vocab[\"x\"]");
        assertRejected(j -> obj(obj(j, "model"), "vocab").put("x", "7"), "$.model.vocab[\"x\"]");
        assertRejected(j -> j.remove("model"), "$.model", "missing");
        assertRejected(j -> obj(j, "model").remove("vocab"), "$.model.vocab", "missing");
        assertRejected(j -> ((ObjectNode) j.get("added_tokens").get(0)).remove("content"),
                "$.added_tokens[0].content", "missing");
        assertRejected(j -> ((ObjectNode) j.get("added_tokens").get(0)).put("special", "yes"),
                "$.added_tokens[0].special", "true or false");
    }

    @Test
    void characterOutsideVocabularyWithoutUnknownToken() {
        ObjectNode json;
        try (InputStream in = Fixtures.resource("small/charbpe.json")) {
            json = (ObjectNode) Fixtures.JSON.readTree(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        obj(json, "model").putNull("unk_token");
        Tokenizer tok = load(json.toString().getBytes(StandardCharsets.UTF_8));
        TokenizerException e = assertThrows(TokenizerException.class, () -> tok.encode("\u4e16"));
        assertTrue(e.getMessage().contains("U+4E16"), e.getMessage());
    }

    @Test
    void idsOutOfRange() {
        Tokenizer tok = Fixtures.qwen3();
        for (int id : new int[] {-1, 151669, 151935, Integer.MAX_VALUE}) {
            TokenizerException e = assertThrows(TokenizerException.class, () -> tok.decode(new int[] {9707, id}, false));
            assertTrue(e.getMessage().contains("token id " + id + " is out of range"), e.getMessage());
            assertThrows(TokenizerException.class, () -> tok.decode(new int[] {id}, true));
            assertThrows(TokenizerException.class, () -> tok.tokens(new int[] {id}));
            assertThrows(TokenizerException.class, () -> tok.streamDecoder(false).next(id));
        }
        // TokenizerException is an IllegalArgumentException, for callers that treat all bad input alike.
        assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {-5}, false));
    }

    @Test
    void missingAndMalformedFiles(@TempDir Path dir) throws IOException {
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not found"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer.json"), small().toString());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": ");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": not valid JSON"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": 5}");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("$.eos_token: expected a string"), e.getMessage());

        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        e = assertThrows(TokenizerException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer.json") + ": not valid JSON"), e.getMessage());
    }
}
