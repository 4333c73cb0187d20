package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reflectrm.model.BadInputException;

/**
 * config.json parsing: the fixtures in both key spellings (transformers 4 and 5), the published
 * Qwen3-0.6B file, and rejection, by file and field name, of everything the engine does not
 * implement or that cannot be a Qwen3 config.
 */
class Qwen3ConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The published Qwen3-0.6B config.json, byte for byte (qwen3-spec §1.4). */
    static final String QWEN3_0_6B = """
            {
              "architectures": [
                "Qwen3ForCausalLM"
              ],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 151643,
              "eos_token_id": 151645,
              "head_dim": 128,
              "hidden_act": "silu",
              "hidden_size": 1024,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "max_position_embeddings": 40960,
              "max_window_layers": 28,
              "model_type": "qwen3",
              "num_attention_heads": 16,
              "num_hidden_layers": 28,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-06,
              "rope_scaling": null,
              "rope_theta": 1000000,
              "sliding_window": null,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.51.0",
              "use_cache": true,
              "use_sliding_window": false,
              "vocab_size": 151936
            }""";

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(Qwen3ConfigTest.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What the fixtures README's table says about each fixture. */
    record Expect(String name, String dtype, int vocab, int layers, int heads, int kvHeads, int headDim, int inter,
                  double theta, double eps, boolean tied, int bos, int eos) {
    }

    static Stream<Expect> fixtures() {
        return Stream.of(
                new Expect("tiny-f32-untied", "float32", 512, 2, 4, 2, 32, 96, 1e6, 1e-6, false, 510, 511),
                new Expect("tiny-bf16-tied", "bfloat16", 500, 2, 4, 4, 16, 128, 1e4, 1e-5, true, 498, 499),
                new Expect("tiny-f16-sharded", "float16", 512, 3, 8, 2, 16, 160, 5e5, 1e-6, false, 510, 511),
                new Expect("tiny-bf16-tied-lmhead", "bfloat16", 448, 2, 4, 2, 16, 112, 1e6, 1e-6, true, 446, 447));
    }

    private static void assertMatches(Expect e, Qwen3Config c) {
        assertEquals("qwen3", c.modelType());
        assertEquals(List.of("Qwen3ForCausalLM"), c.architectures());
        assertEquals(e.dtype(), c.dtype(), "dtype");
        assertEquals(e.vocab(), c.vocabSize());
        assertEquals(64, c.hiddenSize());
        assertEquals(e.inter(), c.intermediateSize());
        assertEquals(e.layers(), c.numHiddenLayers());
        assertEquals(e.heads(), c.numAttentionHeads());
        assertEquals(e.kvHeads(), c.numKeyValueHeads());
        assertEquals(e.headDim(), c.headDim(), "head_dim is read, not derived from hidden/heads");
        assertEquals(e.heads() / e.kvHeads(), c.groupSize());
        assertEquals(e.heads() * e.headDim(), c.qDim());
        assertEquals(e.kvHeads() * e.headDim(), c.kvDim());
        assertEquals(e.theta(), c.ropeTheta(), "rope_theta");
        assertEquals(e.eps(), c.rmsNormEps());
        assertEquals(e.tied(), c.tieWordEmbeddings());
        assertEquals(256, c.maxPositionEmbeddings());
        assertEquals(e.bos(), c.bosTokenId());
        assertEquals(List.of(e.eos()), c.eosTokenIds());
        assertNull(c.padTokenId());
        assertFalse(c.useSlidingWindow());
        assertNull(c.slidingWindow());
        assertEquals(e.layers(), c.maxWindowLayers());
        assertEquals("silu", c.hiddenAct());
        assertFalse(c.attentionBias());
    }

    private ObjectNode fixtureJson(String name) throws IOException {
        return (ObjectNode) JSON.readTree(fixture(name).resolve("config.json").toFile());
    }

    private Path write(ObjectNode json) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "model");
        Files.writeString(dir.resolve("config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
        return dir;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureConfigsAsCommitted(Expect e) {
        assertMatches(e, Qwen3Config.load(fixture(e.name())));
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void oldKeysOnly(Expect e) throws IOException {
        // transformers 4 / the published Qwen3 files: torch_dtype, top-level rope_theta, rope_scaling null.
        ObjectNode j = fixtureJson(e.name());
        j.remove(List.of("dtype", "rope_parameters", "layer_types"));
        assertTrue(j.has("torch_dtype") && j.has("rope_theta"));
        assertMatches(e, Qwen3Config.load(write(j)));
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void v5KeysOnly(Expect e) throws IOException {
        // transformers 5: dtype and rope_parameters, no torch_dtype / rope_theta / rope_scaling.
        ObjectNode j = fixtureJson(e.name());
        j.remove(List.of("torch_dtype", "rope_theta", "rope_scaling"));
        assertTrue(j.has("dtype") && j.get("rope_parameters").has("rope_theta"));
        assertMatches(e, Qwen3Config.load(write(j)));
    }

    @Test
    void v5KeysWinOverOldOnes() throws IOException {
        ObjectNode j = fixtureJson("tiny-f32-untied");
        j.put("torch_dtype", "float16");
        j.put("rope_theta", 1234.0);
        Qwen3Config c = Qwen3Config.load(write(j));
        assertEquals("float32", c.dtype());
        assertEquals(1e6, c.ropeTheta());
    }

    @Test
    void loadAcceptsTheFileItself() {
        Path file = fixture("tiny-bf16-tied").resolve("config.json");
        assertEquals(500, Qwen3Config.load(file).vocabSize());
    }

    @Test
    void publishedQwen3_0_6B() throws IOException {
        Path dir = tmp.resolve("Qwen3-0.6B");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), QWEN3_0_6B);
        Qwen3Config c = Qwen3Config.load(dir);
        assertEquals(List.of("Qwen3ForCausalLM"), c.architectures());
        assertEquals(151936, c.vocabSize());
        assertEquals(1024, c.hiddenSize());
        assertEquals(3072, c.intermediateSize());
        assertEquals(28, c.numHiddenLayers());
        assertEquals(16, c.numAttentionHeads());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(128, c.headDim(), "head_dim 128, not hidden/heads = 64");
        assertEquals(2, c.groupSize());
        assertEquals(2048, c.qDim());
        assertEquals(1024, c.kvDim());
        assertEquals(40960, c.maxPositionEmbeddings());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(1_000_000.0, c.ropeTheta());
        assertTrue(c.tieWordEmbeddings());
        assertFalse(c.useSlidingWindow());
        assertNull(c.slidingWindow());
        assertEquals(28, c.maxWindowLayers());
        assertEquals(151643, c.bosTokenId());
        assertEquals(List.of(151645), c.eosTokenIds());
        assertNull(c.padTokenId());
        assertEquals("bfloat16", c.dtype());
        assertEquals("4.51.0", c.transformersVersion());
        assertEquals(0.02, c.initializerRange());
        assertTrue(c.useCache());
        assertEquals(0.0, c.attentionDropout());
        // qwen3-spec §2.3: embedding counted once; + a second vocab x hidden matrix for a separate head.
        assertEquals(596_049_920L, c.parameterCount(false));
        assertEquals(596_049_920L + 151_936L * 1024, c.parameterCount(true));
    }

    @Test
    void toJsonWritesThePublishedFile() throws IOException {
        Qwen3Config c = Qwen3Config.fromJson(JSON.readTree(QWEN3_0_6B), "Qwen3-0.6B/config.json");
        ObjectNode written = c.toJson();
        assertTrue(written.get("pad_token_id").isNull());
        written.remove("pad_token_id"); // the published file leaves it out; null is the same to transformers
        assertEquals(JSON.writeValueAsString(JSON.readTree(QWEN3_0_6B)), JSON.writeValueAsString(written));
        assertEquals(c, Qwen3Config.fromJson(c.toJson(), "round trip"));
    }

    @Test
    void presetsHaveThePublishedParameterCounts() {
        // qwen3-spec §2.3 (8B and 14B are untied, so their counts include lm_head).
        assertEquals(596_049_920L, Qwen3Presets.config("qwen3-0.6b", "bfloat16").parameterCount(false));
        assertEquals(1_720_574_976L, Qwen3Presets.config("qwen3-1.7b", "bfloat16").parameterCount(false));
        assertEquals(4_022_468_096L, Qwen3Presets.config("qwen3-4b", "bfloat16").parameterCount(false));
        assertEquals(8_190_735_360L, Qwen3Presets.config("qwen3-8b", "bfloat16").parameterCount(true));
        assertEquals(14_768_307_200L, Qwen3Presets.config("qwen3-14b", "bfloat16").parameterCount(true));
        Qwen3Config published = Qwen3Config.fromJson(readTree(QWEN3_0_6B), "0.6B");
        assertEquals(published, Qwen3Presets.config("qwen3-0.6b", "bfloat16"));
    }

    @Test
    void eosMayBeAList() throws IOException {
        ObjectNode j = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        j.putArray("eos_token_id").add(151645).add(151643);
        assertEquals(List.of(151645, 151643), Qwen3Config.load(write(j)).eosTokenIds());
    }

    @Test
    void headDimDefaultsToHiddenOverHeads() throws IOException {
        ObjectNode j = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        j.remove("head_dim");
        assertEquals(64, Qwen3Config.load(write(j)).headDim());
    }

    @Test
    void inactiveSlidingWindowIsAccepted() throws IOException {
        // As transformers: the window only applies to layers >= max_window_layers, and only when enabled.
        ObjectNode enabledButNoLayer = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        enabledButNoLayer.put("use_sliding_window", true).put("sliding_window", 4096).put("max_window_layers", 28);
        assertTrue(Qwen3Config.load(write(enabledButNoLayer)).useSlidingWindow());
        ObjectNode disabled = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        disabled.put("sliding_window", 4096).put("max_window_layers", 10);
        assertEquals(4096, Qwen3Config.load(write(disabled)).slidingWindow());
    }

    static Stream<Arguments> rejected() {
        return Stream.of(
                bad("rope_scaling yarn", "rope_scaling", j -> {
                    ObjectNode s = j.putObject("rope_scaling");
                    s.put("rope_type", "yarn").put("factor", 4.0).put("original_max_position_embeddings", 32768);
                }, "yarn"),
                bad("rope_scaling old 'type' key", "rope_scaling", j -> j.putObject("rope_scaling")
                        .put("type", "dynamic").put("factor", 2.0), "dynamic"),
                bad("rope_parameters linear", "rope_parameters", j -> j.putObject("rope_parameters")
                        .put("rope_type", "linear").put("rope_theta", 1e6).put("factor", 2.0), "linear"),
                bad("rope_parameters not an object", "rope_parameters", j -> j.put("rope_parameters", "default")),
                bad("rope_parameters.rope_theta negative", "rope_theta", j -> j.putObject("rope_parameters")
                        .put("rope_type", "default").put("rope_theta", -5.0)),
                bad("active sliding window", "use_sliding_window", j -> j.put("use_sliding_window", true)
                        .put("sliding_window", 4096).put("max_window_layers", 21), "4096"),
                bad("layer_types sliding", "layer_types", j -> {
                    ArrayNode t = j.putArray("layer_types");
                    for (int i = 0; i < 28; i++) {
                        t.add(i < 27 ? "full_attention" : "sliding_attention");
                    }
                }, "sliding_attention"),
                bad("layer_types wrong length", "layer_types", j -> j.putArray("layer_types").add("full_attention")),
                bad("layer_types not an array", "layer_types", j -> j.put("layer_types", "full_attention")),
                bad("hidden_act gelu", "hidden_act", j -> j.put("hidden_act", "gelu"), "gelu"),
                bad("attention_bias", "attention_bias", j -> j.put("attention_bias", true)),
                bad("model_type llama", "model_type", j -> j.put("model_type", "llama"), "llama"),
                bad("model_type missing", "model_type", j -> j.remove("model_type")),
                bad("kv heads do not divide heads", "num_key_value_heads", j -> j.put("num_key_value_heads", 6), "6", "16"),
                bad("hidden_size missing", "hidden_size", j -> j.remove("hidden_size"), "missing"),
                bad("vocab_size missing", "vocab_size", j -> j.remove("vocab_size"), "missing"),
                bad("string for an int", "num_hidden_layers", j -> j.put("num_hidden_layers", "28"), "\"28\""),
                bad("float for an int", "intermediate_size", j -> j.put("intermediate_size", 3072.5)),
                bad("negative intermediate_size", "intermediate_size", j -> j.put("intermediate_size", -3072), "-3072"),
                bad("negative vocab_size", "vocab_size", j -> j.put("vocab_size", -1), "-1"),
                bad("zero heads", "num_attention_heads", j -> j.put("num_attention_heads", 0)),
                bad("negative head_dim", "head_dim", j -> j.put("head_dim", -128)),
                bad("odd head_dim", "head_dim", j -> j.put("head_dim", 127)),
                bad("negative max_window_layers", "max_window_layers", j -> j.put("max_window_layers", -1)),
                bad("negative rms_norm_eps", "rms_norm_eps", j -> j.put("rms_norm_eps", -1e-6)),
                bad("negative rope_theta", "rope_theta", j -> j.put("rope_theta", -1)),
                bad("string rope_theta", "rope_theta", j -> j.put("rope_theta", "1e6")),
                bad("string tie_word_embeddings", "tie_word_embeddings", j -> j.put("tie_word_embeddings", "true")),
                bad("eos list with a string", "eos_token_id", j -> j.putArray("eos_token_id").add(1).add("x")));
    }

    private static Arguments bad(String what, String field, Consumer<ObjectNode> mutate, String... fragments) {
        return Arguments.of(what, field, mutate, fragments);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejected")
    void rejectedByFileAndFieldName(String what, String field, Consumer<ObjectNode> mutate, String[] fragments)
            throws IOException {
        ObjectNode j = (ObjectNode) JSON.readTree(QWEN3_0_6B);
        mutate.accept(j);
        Path dir = write(j);
        String file = dir.resolve("config.json").toString();
        BadInputException e = assertThrows(BadInputException.class, () -> Qwen3Config.load(dir), what);
        String m = e.getMessage();
        assertTrue(m.contains(file), () -> "message does not name the file " + file + ": " + m);
        assertTrue(m.contains(field), () -> "message does not name the field '" + field + "': " + m);
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message lacks '" + f + "': " + m);
        }
    }

    @Test
    void missingConfigNamesTheFile() {
        BadInputException e = assertThrows(BadInputException.class, () -> Qwen3Config.load(tmp));
        assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
    }

    @Test
    void invalidJsonNamesTheFile() throws IOException {
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\": \"qwen3\",");
        BadInputException e = assertThrows(BadInputException.class, () -> Qwen3Config.load(tmp));
        assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
    }

    @Test
    void nonObjectJsonNamesTheFile() throws IOException {
        Files.writeString(tmp.resolve("config.json"), "[1, 2]");
        BadInputException e = assertThrows(BadInputException.class, () -> Qwen3Config.load(tmp));
        assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
        Files.writeString(tmp.resolve("config.json"), "");
        e = assertThrows(BadInputException.class, () -> Qwen3Config.load(tmp));
        assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
    }

    private static JsonNode readTree(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
