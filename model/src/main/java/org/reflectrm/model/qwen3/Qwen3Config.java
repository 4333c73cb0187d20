package org.reflectrm.model.qwen3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.BadInputException;

/**
 * Every field of a Hugging Face Qwen3 {@code config.json}. Both the old key spellings
 * ({@code torch_dtype}, top-level {@code rope_theta}/{@code rope_scaling}) and transformers v5's
 * ({@code dtype}, {@code rope_parameters}) are accepted. Features this engine does not implement
 * (RoPE scaling, an active sliding window, attention biases, other activations) are rejected by
 * name rather than silently ignored.
 */
public record Qwen3Config(
        List<String> architectures,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        String hiddenAct,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        double attentionDropout,
        boolean useSlidingWindow,
        Integer slidingWindow,
        int maxWindowLayers,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        double initializerRange,
        boolean useCache,
        String dtype,
        String transformersVersion) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public Qwen3Config {
        architectures = List.copyOf(architectures);
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Reads and validates {@code dir/config.json}. */
    public static Qwen3Config load(Path modelDir) {
        Path file = Files.isDirectory(modelDir) ? modelDir.resolve("config.json") : modelDir;
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no config.json in the model folder");
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        return fromJson(root, file.toString());
    }

    /** Parses a config object; {@code source} names it in error messages. */
    public static Qwen3Config fromJson(JsonNode root, String source) {
        Fields f = new Fields(root, source);
        String modelType = f.string("model_type", null);
        if (modelType == null || !modelType.equals("qwen3")) {
            throw f.error("model_type", "expected \"qwen3\", found " + root.get("model_type"));
        }
        int hidden = f.positiveInt("hidden_size", null);
        int heads = f.positiveInt("num_attention_heads", null);
        int kvHeads = f.positiveInt("num_key_value_heads", heads);
        Integer headDimDefault = hidden % heads == 0 ? hidden / heads : null;
        int headDim = f.positiveInt("head_dim", headDimDefault);
        if (heads % kvHeads != 0) {
            throw f.error("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        }
        if (headDim % 2 != 0) {
            throw f.error("head_dim", headDim + " is odd; rotary embeddings need an even head_dim");
        }
        if ((long) heads * headDim > Integer.MAX_VALUE) {
            // the projections' widths are ints: an overflow would wrap to a small or zero width
            throw f.error("head_dim", "num_attention_heads " + heads + " × head_dim " + headDim + " is too large");
        }
        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw f.error("hidden_act", "\"" + act + "\" is not supported (only \"silu\")");
        }
        if (f.bool("attention_bias", false)) {
            throw f.error("attention_bias", "true is not supported: Qwen3 checkpoints have no attention biases");
        }
        double theta = ropeTheta(f, root);
        boolean useSliding = f.bool("use_sliding_window", false);
        Integer sliding = f.optionalInt("sliding_window");
        int layers = f.positiveInt("num_hidden_layers", null);
        int maxWindowLayers = f.nonNegativeInt("max_window_layers", layers);
        if (useSliding && sliding != null && maxWindowLayers < layers) {
            throw f.error("use_sliding_window", "sliding-window attention is active (window " + sliding
                    + " from layer " + maxWindowLayers + ") and is not supported");
        }
        JsonNode layerTypes = root.get("layer_types");
        if (layerTypes != null && !layerTypes.isNull()) {
            // transformers checks the same: one entry per layer (layer_type_validation).
            if (!layerTypes.isArray() || layerTypes.size() != layers) {
                throw f.error("layer_types", "expected an array of " + layers
                        + " entries (one per layer), found " + layerTypes);
            }
            for (JsonNode t : layerTypes) {
                if (!t.isTextual() || !"full_attention".equals(t.asText())) {
                    throw f.error("layer_types", t + " is not supported (only \"full_attention\")");
                }
            }
        }
        double eps = f.positiveDouble("rms_norm_eps", 1e-6);
        String dtype = root.hasNonNull("dtype") ? f.string("dtype", null) : f.string("torch_dtype", "float32");
        return new Qwen3Config(
                f.stringList("architectures"),
                modelType,
                f.positiveInt("vocab_size", null),
                hidden,
                f.positiveInt("intermediate_size", null),
                layers,
                heads,
                kvHeads,
                headDim,
                act,
                f.positiveInt("max_position_embeddings", 40960),
                eps,
                theta,
                f.bool("tie_word_embeddings", false),
                false,
                f.number("attention_dropout", 0.0),
                useSliding,
                sliding,
                maxWindowLayers,
                f.tokenId("bos_token_id"),
                f.intOrIntList("eos_token_id"),
                f.tokenId("pad_token_id"),
                f.number("initializer_range", 0.02),
                f.bool("use_cache", true),
                dtype,
                f.string("transformers_version", null));
    }

    private static double ropeTheta(Fields f, JsonNode root) {
        JsonNode params = root.get("rope_parameters");
        JsonNode scaling = root.get("rope_scaling");
        for (String key : new String[] {"rope_parameters", "rope_scaling"}) {
            JsonNode node = root.get(key);
            if (node != null && !node.isNull()) {
                if (!node.isObject()) {
                    throw f.error(key, "expected an object or null");
                }
                String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText()
                        : node.hasNonNull("type") ? node.get("type").asText() : "default";
                if (!type.equals("default")) {
                    throw f.error(key, "rope type \"" + type + "\" is not supported (only \"default\")");
                }
            }
        }
        if (params != null && params.hasNonNull("rope_theta")) {
            JsonNode theta = params.get("rope_theta");
            if (!theta.isNumber() || theta.asDouble() <= 0 || Double.isInfinite(theta.asDouble())) {
                throw f.error("rope_parameters.rope_theta", "expected a positive number, found " + theta);
            }
            return theta.asDouble();
        }
        if (scaling != null && scaling.hasNonNull("rope_theta")) {
            JsonNode theta = scaling.get("rope_theta");
            if (!theta.isNumber() || theta.asDouble() <= 0 || Double.isInfinite(theta.asDouble())) {
                throw f.error("rope_scaling.rope_theta", "expected a positive number, found " + theta);
            }
            return theta.asDouble();
        }
        return f.positiveDouble("rope_theta", 10000.0);
    }

    /** Query heads per KV head. */
    public int groupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** Bytes an F32 KV cache takes per position: keys and values of every layer. */
    public long kvCacheBytesPerPosition() {
        return 2L * numHiddenLayers() * kvDim() * Float.BYTES;
    }

    /**
     * An estimate of the activation bytes a prefill needs per token at its peak, within one layer
     * (a layer's activations are freed before the next): the residual stream and the normed
     * input, q, k and v with q after RoPE and attention's output, and the MLP's gate, up and
     * gated product.
     */
    public long prefillActivationBytesPerToken() {
        return (long) Float.BYTES * (2L * hiddenSize() + 3L * qDim() + 2L * kvDim() + 3L * intermediateSize());
    }

    public int qDim() {
        return numAttentionHeads * headDim;
    }

    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** Parameter count with the embedding counted once; {@code withLmHead} adds an untied head. */
    public long parameterCount(boolean withLmHead) {
        long h = hiddenSize;
        long perLayer = h * qDim() + 2 * h * kvDim() + (long) qDim() * h
                + 3 * h * intermediateSize + 2 * h + 2L * headDim;
        long total = (long) vocabSize * h + numHiddenLayers * perLayer + h;
        return withLmHead ? total + (long) vocabSize * h : total;
    }

    /** The config as HF writes it (old key spellings, as the published Qwen3 files use). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        ArrayNode arch = o.putArray("architectures");
        architectures.forEach(arch::add);
        o.put("attention_bias", attentionBias);
        o.put("attention_dropout", attentionDropout);
        putNullable(o, "bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.getFirst());
        } else {
            ArrayNode eos = o.putArray("eos_token_id");
            eosTokenIds.forEach(eos::add);
        }
        o.put("head_dim", headDim);
        o.put("hidden_act", hiddenAct);
        o.put("hidden_size", hiddenSize);
        o.put("initializer_range", initializerRange);
        o.put("intermediate_size", intermediateSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("max_window_layers", maxWindowLayers);
        o.put("model_type", modelType);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_key_value_heads", numKeyValueHeads);
        putNullable(o, "pad_token_id", padTokenId);
        o.put("rms_norm_eps", rmsNormEps);
        o.putNull("rope_scaling");
        if (ropeTheta == Math.rint(ropeTheta)) {
            o.put("rope_theta", (long) ropeTheta);
        } else {
            o.put("rope_theta", ropeTheta);
        }
        putNullable(o, "sliding_window", slidingWindow);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("torch_dtype", dtype);
        o.put("transformers_version", transformersVersion == null ? "4.51.0" : transformersVersion);
        o.put("use_cache", useCache);
        o.put("use_sliding_window", useSlidingWindow);
        o.put("vocab_size", vocabSize);
        return o;
    }

    private static void putNullable(ObjectNode o, String key, Integer value) {
        if (value == null) {
            o.putNull(key);
        } else {
            o.put(key, value);
        }
    }

    /** Typed, named access to config fields with errors that name file and field. */
    private record Fields(JsonNode root, String source) {
        Fields {
            if (!root.isObject()) {
                throw new BadInputException(source + ": expected a JSON object");
            }
        }

        BadInputException error(String field, String what) {
            return new BadInputException(source + ": field '" + field + "': " + what);
        }

        private JsonNode present(String key) {
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? null : n;
        }

        String string(String key, String fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw error(key, "expected a string, found " + n);
            }
            return n.asText();
        }

        List<String> stringList(String key) {
            JsonNode n = present(key);
            List<String> out = new ArrayList<>();
            if (n == null) {
                return out;
            }
            if (!n.isArray()) {
                throw error(key, "expected an array of strings, found " + n);
            }
            n.forEach(e -> out.add(e.asText()));
            return out;
        }

        boolean bool(String key, boolean fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw error(key, "expected true or false, found " + n);
            }
            return n.asBoolean();
        }

        double number(String key, double fallback) {
            JsonNode n = present(key);
            if (n == null) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw error(key, "expected a number, found " + n);
            }
            return n.asDouble();
        }

        double positiveDouble(String key, double fallback) {
            double v = number(key, fallback);
            if (!(v > 0) || Double.isInfinite(v)) {
                throw error(key, "expected a positive number, found " + root.get(key));
            }
            return v;
        }

        Integer optionalInt(String key) {
            JsonNode n = present(key);
            if (n == null) {
                return null;
            }
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                throw error(key, "expected an integer, found " + n);
            }
            return n.asInt();
        }

        int nonNegativeInt(String key, Integer fallback) {
            Integer v = optionalInt(key);
            if (v == null) {
                if (fallback == null) {
                    throw error(key, "is missing");
                }
                return fallback;
            }
            if (v < 0) {
                throw error(key, "expected a non-negative integer, found " + v);
            }
            return v;
        }

        int positiveInt(String key, Integer fallback) {
            int v = nonNegativeInt(key, fallback);
            if (v == 0) {
                throw error(key, "expected a positive integer, found 0");
            }
            return v;
        }

        /** A token id: absent, null or a non-negative integer. */
        Integer tokenId(String key) {
            Integer v = optionalInt(key);
            if (v != null && v < 0) {
                throw error(key, "expected a token id (a non-negative integer), found " + v);
            }
            return v;
        }

        /** One token id or a list of them. */
        List<Integer> intOrIntList(String key) {
            JsonNode n = present(key);
            List<Integer> out = new ArrayList<>();
            if (n == null) {
                return out;
            }
            if (n.isArray()) {
                for (JsonNode e : n) {
                    if (!e.isIntegralNumber() || !e.canConvertToInt() || e.asInt() < 0) {
                        throw error(key, "expected token ids (non-negative integers), found " + e);
                    }
                    out.add(e.asInt());
                }
            } else {
                out.add(tokenId(key));
            }
            return out;
        }
    }
}
