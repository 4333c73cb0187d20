package org.reflectrm.model.qwen3;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.reflectrm.kernels.Bf16;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.safetensors.SafetensorsWriter;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * Writes a Hugging Face-format Qwen3 folder with random weights, so benchmarks and device checks
 * never depend on downloaded checkpoints. Matrices are uniform with standard deviation
 * {@code initializer_range} (as transformers' init, but uniform so generation is cheap); norm
 * weights are 1. Every value is a hash of (seed, tensor, index), so the output is the same bytes
 * for the same seed whatever the thread count. Shards are capped at 5 GB, like transformers, and
 * are generated one at a time so memory stays bounded by one shard. The folder also gets the Qwen3
 * tokenizer ({@code tokenizer.json}, {@code tokenizer_config.json}, from {@link Tokenizer#writeQwen3Files}),
 * so text prompts work on it, whenever the vocabulary covers its ids (every preset's does).
 */
public final class RandomCheckpoint {
    /** Qwen3's tokenizer has ids 0..151,668; a smaller vocabulary gets no tokenizer files. */
    static final int QWEN3_TOKENIZER_IDS = 151_669;

    /** transformers' default max_shard_size. */
    public static final long MAX_SHARD_BYTES = 5_000_000_000L;

    private RandomCheckpoint() {
    }

    private record Planned(String name, int[] shape, boolean norm, int seedIndex) {
        long numel() {
            long n = 1;
            for (int s : shape) {
                n *= s;
            }
            return n;
        }
    }

    public static void write(Qwen3Config config, DType dtype, long seed, Path dir) {
        write(config, dtype, seed, dir, MAX_SHARD_BYTES);
    }

    /** As {@link #write(Qwen3Config, DType, long, Path)} with shards of at most {@code maxShardBytes}. */
    public static void write(Qwen3Config config, DType dtype, long seed, Path dir, long maxShardBytes) {
        if (!dtype.isComputeType()) {
            throw new IllegalArgumentException("random weights must be F32, F16 or BF16, not " + dtype);
        }
        List<Planned> tensors = plan(config);
        List<List<Planned>> shards = new ArrayList<>();
        long current = 0;
        for (Planned p : tensors) {
            long bytes = p.numel() * dtype.byteSize();
            if (shards.isEmpty() || current + bytes > maxShardBytes) {
                shards.add(new ArrayList<>());
                current = 0;
            }
            shards.getLast().add(p);
            current += bytes;
        }
        try {
            Files.createDirectories(dir);
            Map<String, String> weightMap = new LinkedHashMap<>();
            long total = 0;
            for (int s = 0; s < shards.size(); s++) {
                String file = shards.size() == 1 ? "model.safetensors"
                        : String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
                try (Arena arena = Arena.ofShared()) {
                    List<TensorSource> sources = new ArrayList<>();
                    for (Planned p : shards.get(s)) {
                        MemorySegment data = arena.allocate(p.numel() * dtype.byteSize(), 64);
                        fill(data, dtype, p, seed, config.initializerRange());
                        long[] shape = new long[p.shape().length];
                        for (int i = 0; i < shape.length; i++) {
                            shape[i] = p.shape()[i];
                        }
                        sources.add(new TensorSource(p.name(), dtype, shape, data));
                        weightMap.put(p.name(), file);
                        total += data.byteSize();
                    }
                    SafetensorsWriter.write(dir.resolve(file), sources, Map.of("format", "pt"));
                }
            }
            if (shards.size() > 1) {
                SafetensorsWriter.writeIndex(dir, weightMap, total);
            }
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config.toJson()) + "\n");
            Files.writeString(dir.resolve("generation_config.json"), json.writeValueAsString(generationConfig(json, config)) + "\n");
            if (config.vocabSize() >= QWEN3_TOKENIZER_IDS) {
                Tokenizer.writeQwen3Files(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Qwen3's published generation defaults (qwen3-spec §5). */
    private static ObjectNode generationConfig(ObjectMapper json, Qwen3Config config) {
        ObjectNode g = json.createObjectNode();
        if (config.bosTokenId() != null) {
            g.put("bos_token_id", config.bosTokenId());
        }
        g.put("do_sample", true);
        var eos = g.putArray("eos_token_id");
        config.eosTokenIds().forEach(eos::add);
        if (config.bosTokenId() != null && !config.eosTokenIds().contains(config.bosTokenId())) {
            eos.add(config.bosTokenId());
        }
        g.put("pad_token_id", config.bosTokenId() == null ? 0 : config.bosTokenId());
        g.put("temperature", 0.6);
        g.put("top_k", 20);
        g.put("top_p", 0.95);
        return g;
    }

    private static List<Planned> plan(Qwen3Config config) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put(Qwen3Weights.EMBED, new int[] {config.vocabSize(), config.hiddenSize()});
        List<int[]> layerShapes = Qwen3Weights.layerTensorShapes(config);
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            List<String> names = Qwen3Weights.layerTensorNames(l);
            for (int j = 0; j < names.size(); j++) {
                shapes.put(names.get(j), layerShapes.get(j));
            }
        }
        shapes.put(Qwen3Weights.FINAL_NORM, new int[] {config.hiddenSize()});
        if (!config.tieWordEmbeddings()) {
            shapes.put(Qwen3Weights.LM_HEAD, new int[] {config.vocabSize(), config.hiddenSize()});
        }
        List<Planned> out = new ArrayList<>();
        int index = 0;
        for (var e : shapes.entrySet()) {
            out.add(new Planned(e.getKey(), e.getValue(), e.getKey().endsWith("norm.weight"), index++));
        }
        return out;
    }

    private static void fill(MemorySegment data, DType dtype, Planned p, long seed, double std) {
        long n = p.numel();
        float halfWidth = (float) (std * Math.sqrt(3.0));
        long chunk = 1 << 20;
        LongStream.range(0, (n + chunk - 1) / chunk).parallel().forEach(c -> {
            long end = Math.min(n, (c + 1) * chunk);
            for (long i = c * chunk; i < end; i++) {
                float v = p.norm() ? 1.0f : (float) ((uniform(seed, p.seedIndex(), i) * 2 - 1) * halfWidth);
                switch (dtype) {
                    case F32 -> data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                    case BF16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Bf16.round(v));
                    case F16 -> data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(v));
                    default -> throw new IllegalStateException(dtype.name());
                }
            }
        });
    }

    /** A uniform double in [0, 1) from a counter hash (splitmix64 finalizer). */
    private static double uniform(long seed, int tensor, long i) {
        long x = seed * 0x9E3779B97F4A7C15L + tensor * 0xBF58476D1CE4E5B9L + i * 0x94D049BB133111EBL;
        x ^= x >>> 30;
        x *= 0xBF58476D1CE4E5B9L;
        x ^= x >>> 27;
        x *= 0x94D049BB133111EBL;
        x ^= x >>> 31;
        return (x >>> 11) * 0x1.0p-53;
    }
}
