package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Config;

/**
 * Sampling defaults as transformers takes them: from {@code generation_config.json} when the
 * model folder has one, else greedy; stop tokens from its {@code eos_token_id}, else config.json's.
 */
record GenerationDefaults(boolean doSample, double temperature, int topK, double topP, double minP, Set<Integer> eos) {

    static GenerationDefaults load(Path modelDir, Qwen3Config config) {
        Path file = modelDir.resolve("generation_config.json");
        Set<Integer> eos = new LinkedHashSet<>(config.eosTokenIds());
        if (!Files.exists(file)) {
            return new GenerationDefaults(false, 1.0, 50, 1.0, 0.0, eos);
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": expected a JSON object");
        }
        JsonNode e = root.get("eos_token_id");
        if (e != null && !e.isNull()) {
            eos.clear();
            if (e.isArray()) {
                e.forEach(id -> eos.add(id.asInt()));
            } else {
                eos.add(e.asInt());
            }
        }
        return new GenerationDefaults(
                root.path("do_sample").asBoolean(false),
                root.path("temperature").asDouble(1.0),
                root.path("top_k").asInt(50),
                root.path("top_p").asDouble(1.0),
                root.path("min_p").asDouble(0.0),
                eos);
    }
}
