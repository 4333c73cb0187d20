package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.reflectrm.kernels.Bf16;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.model.safetensors.SafetensorsWriter;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.tensor.Tensor;

/**
 * Writes a full model folder as transformers' {@code save_pretrained} lays it out: safetensors
 * (sharded above 5 GB), {@code config.json} with the saved dtype, and the base folder's
 * tokenizer and generation files copied, so the result loads with
 * {@code AutoModelForCausalLM.from_pretrained} and with this tool alike.
 */
public final class ModelFiles {
    /** Files next to the weights that belong to the model and are copied unchanged. */
    static final List<String> COMPANIONS = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json", "chat_template.jinja");
    private static final long MAX_SHARD_BYTES = 5_000_000_000L;

    private ModelFiles() {
    }

    /** Saves {@code weights} (HF name → tensor, any computable dtype) converted to {@code dtype}. */
    public static void save(Path out, Path baseDir, Map<String, Tensor> weights, DType dtype) throws IOException {
        String torchName = switch (dtype) {
            case F32 -> "float32";
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> throw new IllegalArgumentException("cannot save weights as " + dtype);
        };
        try (Arena arena = Arena.ofConfined()) {
            List<TensorSource> sources = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : weights.entrySet()) {
                sources.add(convert(arena, e.getKey(), e.getValue(), dtype));
            }
            write(out, baseDir, sources, Map.of("format", "pt"), config -> {
                // The saved weights are plain floats, whatever the base was (an 8-bit base is widened).
                config.remove("quantization_config");
                config.put("torch_dtype", torchName);
                if (config.has("dtype")) {
                    config.put("dtype", torchName);
                }
            });
        }
    }

    /**
     * Writes a model folder: {@code sources} as safetensors (sharded above 5 GB) with the header
     * {@code metadata}, {@code baseDir}'s config.json changed by {@code editConfig}, and the
     * base's tokenizer and generation files.
     */
    public static void write(Path out, Path baseDir, List<TensorSource> sources, Map<String, String> metadata,
                             Consumer<ObjectNode> editConfig) throws IOException {
        Files.createDirectories(out);
        SafetensorsWriter.writeSharded(out, sources, metadata, MAX_SHARD_BYTES);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode config = (ObjectNode) json.readTree(baseDir.resolve("config.json").toFile());
        editConfig.accept(config);
        AtomicFiles.write(out.resolve("config.json"), (json.writeValueAsString(config) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        copyCompanions(baseDir, out);
    }

    /** Copies the tokenizer and generation files of {@code from} that exist into {@code to}. */
    public static void copyCompanions(Path from, Path to) throws IOException {
        if (from.toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())) {
            return;
        }
        for (String name : COMPANIONS) {
            Path src = from.resolve(name);
            if (Files.isRegularFile(src)) {
                Files.copy(src, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /**
     * A copy of {@code t} in {@code dtype}, rounding to nearest even as torch's {@code .to()} does.
     * A tensor on a GPU is downloaded once, into memory freed as soon as it is converted.
     */
    public static TensorSource convert(Arena arena, String name, Tensor t, DType dtype) {
        try (Arena staging = Arena.ofConfined()) {
            return convertHost(arena, name, t.toHost(staging), dtype);
        }
    }

    private static TensorSource convertHost(Arena arena, String name, Tensor t, DType dtype) {
        long n = t.numel();
        MemorySegment data = arena.allocate(Math.max(1, n) * dtype.byteSize(), 64);
        for (long i = 0; i < n; i++) {
            float v = t.getFloat(i);
            switch (dtype) {
                case F32 -> data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                case BF16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.round(v));
                case F16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(v));
                default -> throw new IllegalArgumentException("cannot save weights as " + dtype.name().toLowerCase(Locale.ROOT));
            }
        }
        return new TensorSource(name, dtype, shapeOf(t), data.asSlice(0, n * dtype.byteSize()));
    }

    /** The shape of {@code t} as safetensors writes it. */
    static long[] shapeOf(Tensor t) {
        long[] shape = new long[t.rank()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.dim(i);
        }
        return shape;
    }
}
