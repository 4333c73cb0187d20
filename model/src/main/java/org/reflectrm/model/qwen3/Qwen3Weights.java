package org.reflectrm.model.qwen3;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Tensor;

/**
 * The Qwen3 weights as views over a memory-mapped checkpoint: nothing is copied or converted.
 * Loading checks that every tensor the config implies is present with the right shape and a
 * computable dtype, and that nothing unexpected is stored.
 */
public record Qwen3Weights(Tensor embedTokens, List<LayerWeights> layers, Tensor finalNorm, Tensor lmHead,
                           boolean lmHeadStored) {

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    /** The names of the tensors of layer {@code i}, in {@link LayerWeights} order. */
    public static List<String> layerTensorNames(int i) {
        String p = "model.layers." + i + ".";
        return List.of(p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                p + "self_attn.v_proj.weight", p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight",
                p + "self_attn.o_proj.weight", p + "post_attention_layernorm.weight", p + "mlp.gate_proj.weight",
                p + "mlp.up_proj.weight", p + "mlp.down_proj.weight");
    }

    /** The shapes of layer tensors, in {@link LayerWeights} order. */
    public static List<int[]> layerTensorShapes(Qwen3Config c) {
        int h = c.hiddenSize(), d = c.headDim(), inter = c.intermediateSize();
        return List.of(new int[] {h}, new int[] {c.qDim(), h}, new int[] {c.kvDim(), h}, new int[] {c.kvDim(), h},
                new int[] {d}, new int[] {d}, new int[] {h, c.qDim()}, new int[] {h},
                new int[] {inter, h}, new int[] {inter, h}, new int[] {h, inter});
    }

    /**
     * Binds the checkpoint's tensors to the config; {@code source} (the model folder) names the
     * checkpoint in errors.
     */
    public static Qwen3Weights load(Qwen3Config config, Checkpoint checkpoint, String source) {
        Set<String> expected = new TreeSet<>();
        Tensor embed = take(checkpoint, source, EMBED, new int[] {config.vocabSize(), config.hiddenSize()}, expected);
        List<LayerWeights> layers = new ArrayList<>();
        List<int[]> shapes = layerTensorShapes(config);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            List<String> names = layerTensorNames(i);
            Tensor[] t = new Tensor[names.size()];
            for (int j = 0; j < t.length; j++) {
                t[j] = take(checkpoint, source, names.get(j), shapes.get(j), expected);
            }
            layers.add(new LayerWeights(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10]));
        }
        Tensor norm = take(checkpoint, source, FINAL_NORM, new int[] {config.hiddenSize()}, expected);
        Tensor lmHead;
        boolean stored = checkpoint.find(LM_HEAD).isPresent();
        if (stored) {
            // transformers uses a stored lm_head even when the config says tied.
            lmHead = take(checkpoint, source, LM_HEAD, new int[] {config.vocabSize(), config.hiddenSize()}, expected);
        } else if (config.tieWordEmbeddings()) {
            lmHead = embed;
        } else {
            throw new BadInputException(source + ": tensor '" + LM_HEAD
                    + "' is missing and config.json has tie_word_embeddings=false, so there is no output projection");
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : checkpoint.names()) {
            if (!expected.contains(name) && !name.endsWith("rotary_emb.inv_freq")) {
                unexpected.add(name);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new BadInputException(source + ": " + unexpected.size() + " unexpected tensor(s) for a "
                    + config.numHiddenLayers() + "-layer Qwen3 config, e.g. '" + unexpected.getFirst() + "'");
        }
        return new Qwen3Weights(embed, List.copyOf(layers), norm, lmHead, stored);
    }

    private static Tensor take(Checkpoint checkpoint, String source, String name, int[] shape, Set<String> expected) {
        expected.add(name);
        TensorEntry e = checkpoint.find(name).orElseThrow(() -> new BadInputException(
                source + ": tensor '" + name + "' is missing"));
        if (e.dtype() == DType.U8) {
            return Q8Weights.bind(e, name, shape);
        }
        if (!e.dtype().isComputeType()) {
            throw new BadInputException(e.file() + ": tensor '" + name + "' has dtype " + e.dtype()
                    + "; weights must be F32, F16, BF16 or 8-bit blocks (U8, written by reflectrm-j quantize)");
        }
        long[] stored = e.shape();
        boolean same = stored.length == shape.length;
        for (int i = 0; same && i < shape.length; i++) {
            same = stored[i] == shape[i];
        }
        if (!same) {
            throw new BadInputException(e.file() + ": tensor '" + name + "' has shape " + Arrays.toString(stored)
                    + " but config.json implies " + Arrays.toString(shape));
        }
        return new Tensor(e.data(), 0, e.dtype(), shape);
    }

    /** The tensors of one layer, in {@link LayerWeights} order. */
    public static List<Tensor> tensorsOf(LayerWeights l) {
        return List.of(l.inputNorm(), l.qProj(), l.kProj(), l.vProj(), l.qNorm(), l.kNorm(), l.oProj(),
                l.postNorm(), l.gateProj(), l.upProj(), l.downProj());
    }

    /** Every distinct tensor by its HF name, in checkpoint order; a tied head appears once, as the embedding. */
    public Map<String, Tensor> named() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(EMBED, embedTokens);
        for (int i = 0; i < layers.size(); i++) {
            List<String> names = layerTensorNames(i);
            List<Tensor> tensors = tensorsOf(layers.get(i));
            for (int j = 0; j < names.size(); j++) {
                out.put(names.get(j), tensors.get(j));
            }
        }
        out.put(FINAL_NORM, finalNorm);
        if (lmHeadStored) {
            out.put(LM_HEAD, lmHead);
        }
        return out;
    }

    /**
     * The same weights with every tensor replaced by {@code f(name, tensor)}, e.g. F32 master
     * copies for training; a tied head follows the replaced embedding.
     */
    public Qwen3Weights map(BiFunction<String, Tensor, Tensor> f) {
        Tensor embed = f.apply(EMBED, embedTokens);
        List<LayerWeights> mapped = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            List<String> names = layerTensorNames(i);
            List<Tensor> t = new ArrayList<>(tensorsOf(layers.get(i)));
            for (int j = 0; j < t.size(); j++) {
                t.set(j, f.apply(names.get(j), t.get(j)));
            }
            mapped.add(new LayerWeights(t.get(0), t.get(1), t.get(2), t.get(3), t.get(4), t.get(5), t.get(6), t.get(7),
                    t.get(8), t.get(9), t.get(10)));
        }
        Tensor norm = f.apply(FINAL_NORM, finalNorm);
        Tensor head = lmHeadStored ? f.apply(LM_HEAD, lmHead) : embed;
        return new Qwen3Weights(embed, List.copyOf(mapped), norm, head, lmHeadStored);
    }

    /**
     * These weights in {@code memory}'s device, each uploaded once in its stored dtype; on the
     * host, themselves (unless the host runs the fused forward, for tests: then the stacked
     * groups below are copied). Each layer's q, k and v projections lie one after another in one buffer,
     * and so do gate and up, so that a fused forward reads each group as one matrix
     * ({@link Tensor#stacked}); every tensor is still its own view for training and LoRA.
     */
    public Qwen3Weights on(DeviceTensors memory) {
        if (memory.onHost() && !memory.device().fusesForward()) {
            return this;
        }
        Tensor embed = memory.upload(embedTokens);
        List<LayerWeights> uploaded = new ArrayList<>();
        for (LayerWeights l : layers) {
            List<Tensor> qkv = memory.uploadStacked(l.qProj(), l.kProj(), l.vProj());
            List<Tensor> gateUp = memory.uploadStacked(l.gateProj(), l.upProj());
            uploaded.add(new LayerWeights(memory.upload(l.inputNorm()), qkv.get(0), qkv.get(1), qkv.get(2),
                    memory.upload(l.qNorm()), memory.upload(l.kNorm()), memory.upload(l.oProj()),
                    memory.upload(l.postNorm()), gateUp.get(0), gateUp.get(1), memory.upload(l.downProj())));
        }
        Tensor norm = memory.upload(finalNorm);
        Tensor head = lmHeadStored ? memory.upload(lmHead) : embed;
        return new Qwen3Weights(embed, List.copyOf(uploaded), norm, head, lmHeadStored);
    }

    /** Whether any tensor is in the 8-bit block format (a {@code reflectrm-j quantize} copy). */
    public boolean quantized() {
        return named().values().stream().anyMatch(t -> t.dtype() == DType.Q8);
    }

    /** Bytes of weight data, counting a tied head once. */
    public long byteSize() {
        return layerBytes() + bytes(finalNorm) + bytes(embedTokens) + (lmHeadStored ? bytes(lmHead) : 0);
    }

    /**
     * Bytes a decode step must stream from memory: every layer, the final norm and the output
     * head (the embedding contributes one row, which is negligible).
     */
    public long decodeBytesPerToken() {
        return layerBytes() + bytes(finalNorm) + bytes(lmHead);
    }

    private long layerBytes() {
        long n = 0;
        for (LayerWeights l : layers) {
            for (Tensor t : tensorsOf(l)) {
                n += bytes(t);
            }
        }
        return n;
    }

    private static long bytes(Tensor t) {
        return t.dtype().bytes(t.numel());
    }
}
