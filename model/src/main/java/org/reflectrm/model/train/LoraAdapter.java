package org.reflectrm.model.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.Map;
import java.util.SplittableRandom;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.LinearAdapter;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * LoRA on a frozen Qwen3: each targeted linear layer {@code W[out, in]} gains
 * {@code A[rank, in]} and {@code B[out, rank]}, trainable F32, while W stays memory-mapped in
 * its stored dtype. Parameters carry PEFT's names
 * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}), so an adapter saves
 * and loads as PEFT writes it. Initialisation follows PEFT's default: A Kaiming-uniform
 * (bound 1/sqrt(in)), B zero, so training starts from the base model.
 */
public final class LoraAdapter implements LinearAdapter {
    public static final String PREFIX = "base_model.model.";

    private final LoraConfig config;
    private final Map<String, Tensor[]> modules = new LinkedHashMap<>();   // module -> {A, B}
    private final float scaling;
    private final Map<String, Integer> moduleIndex = new HashMap<>();
    private long dropoutSeed;

    private LoraAdapter(LoraConfig config) {
        this.config = config;
        this.scaling = (float) config.scaling();
    }

    /** Creates freshly initialised A/B pairs for {@code model}'s targeted layers in {@code params}. */
    public static LoraAdapter create(Qwen3Config model, LoraConfig config, ParameterSet params, long seed) {
        LoraAdapter lora = new LoraAdapter(config);
        SplittableRandom rng = new SplittableRandom(seed);
        for (Target t : targets(model, config)) {
            Tensor a = params.zeros(aName(t.module()), config.rank(), t.in());
            Tensor b = params.zeros(bName(t.module()), t.out(), config.rank());
            double bound = 1.0 / Math.sqrt(t.in());
            float[] init = new float[Math.toIntExact(a.numel())];
            for (int i = 0; i < init.length; i++) {
                init[i] = (float) rng.nextDouble(-bound, bound);
            }
            a.write(java.lang.foreign.MemorySegment.ofArray(init));   // one upload on a GPU
            lora.put(t.module(), a, b);
        }
        return lora;
    }

    /**
     * Loads a PEFT adapter folder (see {@link PeftAdapterFiles}) into {@code params}, checking
     * that it holds exactly the A/B pairs its config implies for {@code model}, with the right
     * shapes.
     */
    public static LoraAdapter load(Path dir, Qwen3Config model, ParameterSet params) {
        LoraConfig config = PeftAdapterFiles.readConfig(dir);
        LoraAdapter lora = new LoraAdapter(config);
        Path file = dir.resolve(PeftAdapterFiles.WEIGHTS);
        try (Checkpoint stored = Checkpoint.open(file)) {
            Set<String> expected = new HashSet<>();
            for (Target t : targets(model, config)) {
                String a = aName(t.module()), b = bName(t.module());
                lora.put(t.module(), params.add(a, take(stored, file, a, config.rank(), t.in(), expected)),
                        params.add(b, take(stored, file, b, t.out(), config.rank(), expected)));
            }
            for (String name : stored.names()) {
                if (!expected.contains(name)) {
                    throw new BadInputException(file + ": unexpected tensor '" + name + "' for this model and "
                            + PeftAdapterFiles.CONFIG);
                }
            }
        }
        return lora;
    }

    private static Tensor take(Checkpoint stored, Path file, String name, int rows, int cols, Set<String> expected) {
        expected.add(name);
        TensorEntry e = stored.find(name).orElseThrow(() -> new BadInputException(file + ": tensor '" + name + "' is missing"));
        long[] shape = e.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new BadInputException(file + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + " but the adapter config and model imply [" + rows + ", " + cols + "]");
        }
        if (!e.dtype().isComputeType()) {
            throw new BadInputException(file + ": tensor '" + name + "' has dtype " + e.dtype() + "; expected F32, F16 or BF16");
        }
        return new Tensor(e.data(), 0, e.dtype(), rows, cols);
    }

    private void put(String module, Tensor a, Tensor b) {
        moduleIndex.put(module, modules.size());
        modules.put(module, new Tensor[] {a, b});
    }

    public static String aName(String module) {
        return PREFIX + module + ".lora_A.weight";
    }

    public static String bName(String module) {
        return PREFIX + module + ".lora_B.weight";
    }

    /** A targeted linear layer: its HF module path and its weight's shape {@code [out, in]}. */
    private record Target(String module, int out, int in) {
    }

    /** The layers {@code config} targets in {@code model}, in layer and module order. */
    private static List<Target> targets(Qwen3Config model, LoraConfig config) {
        List<Target> out = new ArrayList<>();
        for (int layer = 0; layer < model.numHiddenLayers(); layer++) {
            for (String full : Qwen3Model.LINEAR_MODULES) {
                String shortName = full.substring(full.indexOf('.') + 1);
                if (config.targets().contains(shortName)) {
                    int[] shape = shapeOf(model, shortName);
                    out.add(new Target("model.layers." + layer + "." + full, shape[0], shape[1]));
                }
            }
        }
        return out;
    }

    /** {out, in} of a linear layer by its short name. */
    static int[] shapeOf(Qwen3Config c, String shortName) {
        int h = c.hiddenSize();
        return switch (shortName) {
            case "q_proj" -> new int[] {c.qDim(), h};
            case "k_proj", "v_proj" -> new int[] {c.kvDim(), h};
            case "o_proj" -> new int[] {h, c.qDim()};
            case "gate_proj", "up_proj" -> new int[] {c.intermediateSize(), h};
            case "down_proj" -> new int[] {h, c.intermediateSize()};
            default -> throw new IllegalArgumentException(shortName);
        };
    }

    public LoraConfig config() {
        return config;
    }

    /** Module path → {A, B}, in layer order. */
    public Map<String, Tensor[]> modules() {
        return modules;
    }

    /**
     * Dropout masks of the next forward derive from this seed (call once per micro-batch). Each
     * module draws from its own counter range, so a recomputed forward (activation
     * checkpointing) gets the same masks.
     */
    public void reseedDropout(long seed) {
        dropoutSeed = seed;
    }

    @Override
    public Tensor linear(Ops ops, String module, Tensor x, Tensor w) {
        Tensor[] ab = modules.get(module);
        if (ab == null) {
            return null;
        }
        long seed = dropoutSeed * 0x9E3779B97F4A7C15L + ((long) moduleIndex.get(module) << 40);
        Tensor dropped = ops.dropout(x, (float) config.dropout(), seed);
        return ops.loraLinear(x, w, dropped, ab[0], ab[1], scaling);
    }
}
