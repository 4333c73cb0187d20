package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.model.safetensors.SafetensorsWriter;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.tensor.Tensor;

/**
 * A LoRA adapter on disk as PEFT writes it: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with F32 tensors named
 * {@code base_model.model.<module>.lora_A.weight}. transformers + peft load what this writes
 * ({@code PeftModel.from_pretrained(base, dir)}).
 */
public final class PeftAdapterFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeftAdapterFiles() {
    }

    /** Reads and validates {@code adapter_config.json}; only plain LoRA is supported. */
    public static LoraConfig readConfig(Path dir) {
        Path file = dir.resolve(CONFIG);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new BadInputException(dir + ": not a PEFT adapter folder (no " + CONFIG + ")");
        } catch (IOException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": expected a JSON object");
        }
        String type = root.path("peft_type").asText("LORA");
        if (!type.equals("LORA")) {
            throw new BadInputException(file + ": peft_type is " + type + "; only LORA adapters are supported");
        }
        for (String flag : List.of("use_rslora", "use_dora", "fan_in_fan_out")) {
            if (root.path(flag).asBoolean(false)) {
                throw new BadInputException(file + ": " + flag + "=true is not supported");
            }
        }
        for (String pattern : List.of("rank_pattern", "alpha_pattern")) {
            if (root.has(pattern) && !root.get(pattern).isNull() && !root.get(pattern).isEmpty()) {
                throw new BadInputException(file + ": per-module " + pattern + " is not supported");
            }
        }
        if (!root.path("bias").asText("none").equals("none")) {
            throw new BadInputException(file + ": bias=" + root.get("bias").asText() + " is not supported (only none)");
        }
        if (!root.path("r").canConvertToInt() || !root.path("lora_alpha").isNumber()) {
            throw new BadInputException(file + ": needs numeric \"r\" and \"lora_alpha\"");
        }
        List<String> targets = new ArrayList<>();
        JsonNode t = root.path("target_modules");
        if (t.isArray()) {
            t.forEach(n -> targets.add(n.asText()));
        } else if (t.isTextual() && t.asText().equals("all-linear")) {
            targets.addAll(LoraConfig.ALL_LINEAR);
        } else {
            throw new BadInputException(file + ": target_modules must be a list of module names or \"all-linear\"");
        }
        return new LoraConfig(root.get("r").asInt(), root.get("lora_alpha").asDouble(),
                root.path("lora_dropout").asDouble(0), LoraConfig.ALL_LINEAR.stream().filter(targets::contains).toList());
    }

    /** Writes the adapter's config and tensors into {@code dir} (created if missing), each file atomically. */
    public static void write(Path dir, LoraAdapter adapter, String baseModel) throws IOException {
        Files.createDirectories(dir);
        LoraConfig c = adapter.config();
        ObjectNode root = JSON.createObjectNode();
        root.put("peft_type", "LORA");
        root.put("task_type", "CAUSAL_LM");
        root.put("base_model_name_or_path", baseModel);
        root.put("r", c.rank());
        root.put("lora_alpha", c.alpha());
        root.put("lora_dropout", c.dropout());
        ArrayNode targets = root.putArray("target_modules");
        new TreeSet<>(c.targets()).forEach(targets::add);
        root.put("bias", "none");
        root.put("fan_in_fan_out", false);
        root.put("use_rslora", false);
        root.put("use_dora", false);
        root.put("inference_mode", true);
        root.put("init_lora_weights", true);
        root.putObject("rank_pattern");
        root.putObject("alpha_pattern");
        root.putNull("modules_to_save");
        root.putNull("layers_to_transform");
        root.putNull("layers_pattern");
        try (Arena arena = Arena.ofConfined()) {
            List<TensorSource> tensors = new ArrayList<>();
            for (Map.Entry<String, Tensor[]> e : adapter.modules().entrySet()) {
                tensors.add(source(arena, LoraAdapter.aName(e.getKey()), e.getValue()[0]));
                tensors.add(source(arena, LoraAdapter.bName(e.getKey()), e.getValue()[1]));
            }
            SafetensorsWriter.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        }
        AtomicFiles.write(dir.resolve(CONFIG),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    /** An F32 tensor's bytes to write: a view of host memory, or one download into {@code arena}. */
    static TensorSource source(Arena arena, String name, Tensor t) {
        Tensor host = t.toHost(arena);
        return new TensorSource(name, DType.F32, ModelFiles.shapeOf(t),
                host.segment().asSlice(host.offset() * 4, host.numel() * 4));
    }
}
