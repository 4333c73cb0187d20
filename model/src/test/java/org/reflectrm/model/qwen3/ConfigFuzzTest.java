package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/**
 * Thousands of hostile variants of a real config.json: fields set to absurd sizes, negative ids,
 * wrong types, removed, or the text's bytes damaged. The parser may only accept a config whose
 * sizes are all usable (positive, their products within int range) or throw a
 * {@link BadInputException} naming the file and, for a bad field, the field; anything else is a
 * bug. Each case has its own seed, printed on failure.
 */
class ConfigFuzzTest {
    private static final long BASE_SEED = 0xC0F1617L;
    static final int FIELD_CASES = 4000;
    static final int BYTE_CASES = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SOURCE = "fuzz/config.json";

    private static final List<String> FIELDS = List.of("vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
            "rms_norm_eps", "rope_theta", "bos_token_id", "eos_token_id", "pad_token_id", "tie_word_embeddings",
            "model_type", "hidden_act", "attention_bias", "use_sliding_window", "sliding_window", "max_window_layers",
            "layer_types", "rope_scaling", "rope_parameters", "torch_dtype", "dtype", "architectures");

    private static final String[] HOSTILE = {"0", "-1", "1", "2", "3", "7", "2147483647", "2147483648", "-2147483648",
            "1099511627776", "1e308", "-1e308", "1.5", "0.0", "1e-320", "\"12\"", "\"\"", "null", "true", "[]", "[1,-2]",
            "{}", "{\"rope_type\":\"yarn\"}", "{\"rope_theta\":-1}", "[\"full_attention\"]", "\"qwen2\"", "\"gelu\"",
            "1073741824", "65536", "131072"};

    private static JsonNode baseConfig() throws IOException {
        try (InputStream in = ConfigFuzzTest.class.getResourceAsStream("/fixtures/tiny-bf16-tied/config.json")) {
            return JSON.readTree(in);
        }
    }

    @Test
    void hostileFieldValuesAreRefusedByNameOrGiveAUsableConfig() throws IOException {
        JsonNode base = baseConfig();
        int accepted = 0;
        for (int c = 0; c < FIELD_CASES; c++) {
            long seed = BASE_SEED + c;
            Random r = new Random(seed);
            ObjectNode config = base.deepCopy();
            List<String> changed = new ArrayList<>();
            for (int k = 1 + r.nextInt(3); k > 0; k--) {
                String field = FIELDS.get(r.nextInt(FIELDS.size()));
                changed.add(field);
                if (r.nextInt(8) == 0) {
                    config.remove(field);
                } else {
                    config.set(field, JSON.readTree(HOSTILE[r.nextInt(HOSTILE.length)]));
                }
            }
            try {
                Qwen3Config parsed = Qwen3Config.fromJson(config, SOURCE);
                checkUsable(parsed, seed, config);
                accepted++;
            } catch (BadInputException e) {
                String m = e.getMessage();
                if (!m.startsWith(SOURCE + ": ") || !(m.contains("field '") || m.contains("expected a JSON object"))) {
                    fail("case " + seed + " (" + changed + "): the message names no field: " + m);
                }
            } catch (RuntimeException | Error e) {
                fail("case " + seed + " (" + changed + " in " + config + "): " + e, e);
            }
        }
        assertTrue(accepted > FIELD_CASES / 20, "some harmless mutations must still parse: " + accepted);
    }

    @Test
    void damagedTextIsRefusedWithTheFileNamed() throws IOException {
        byte[] text = JSON.writeValueAsBytes(baseConfig());
        for (int c = 0; c < BYTE_CASES; c++) {
            long seed = BASE_SEED + 100_000 + c;
            Random r = new Random(seed);
            byte[] damaged = text.clone();
            for (int k = 1 + r.nextInt(4); k > 0; k--) {
                int at = r.nextInt(damaged.length);
                damaged[at] = switch (r.nextInt(4)) {
                    case 0 -> (byte) r.nextInt(256);
                    case 1 -> (byte) ('0' + r.nextInt(10));
                    case 2 -> (byte) '9';
                    default -> (byte) '-';
                };
            }
            JsonNode tree;
            try {
                tree = JSON.readTree(damaged);
            } catch (IOException e) {
                continue; // not JSON: Qwen3Config.load reports it with the file named (Qwen3ConfigTest)
            }
            if (tree == null || tree.isMissingNode()) {
                continue;
            }
            try {
                checkUsable(Qwen3Config.fromJson(tree, SOURCE), seed, tree);
            } catch (BadInputException e) {
                assertTrue(e.getMessage().startsWith(SOURCE + ": "), "case " + seed + ": " + e.getMessage());
            } catch (RuntimeException | Error e) {
                fail("case " + seed + " (" + new String(damaged, java.nio.charset.StandardCharsets.UTF_8) + "): " + e, e);
            }
        }
    }

    /** What every later step relies on: positive sizes, heads that group, products that do not wrap. */
    private static void checkUsable(Qwen3Config c, long seed, JsonNode config) {
        String where = "case " + seed + " accepted " + config + ": ";
        assertTrue(c.vocabSize() > 0 && c.hiddenSize() > 0 && c.intermediateSize() > 0 && c.numHiddenLayers() > 0,
                where + "a size is not positive");
        assertTrue(c.numAttentionHeads() > 0 && c.numKeyValueHeads() > 0 && c.headDim() > 0 && c.headDim() % 2 == 0,
                where + "bad heads");
        assertTrue(c.numAttentionHeads() % c.numKeyValueHeads() == 0, where + "heads do not group");
        assertTrue(c.qDim() > 0 && c.kvDim() > 0 && (long) c.qDim() == (long) c.numAttentionHeads() * c.headDim(),
                where + "the projection width wrapped");
        assertTrue(c.parameterCount(true) > 0, where + "the parameter count wrapped");
        assertTrue(c.rmsNormEps() > 0 && c.ropeTheta() > 0 && Double.isFinite(c.ropeTheta()), where + "bad norm or rope");
        c.eosTokenIds().forEach(id -> assertTrue(id >= 0, where + "negative eos id"));
    }
}
