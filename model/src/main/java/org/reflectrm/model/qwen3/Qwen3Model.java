package org.reflectrm.model.qwen3;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.FusedOps;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * The Qwen3 decoder, written once on tensor ops (see qwen3-spec §1.2). A forward call takes a
 * batch of sequences, each continuing its own KV cache: their new tokens are stacked into one
 * {@code [T, H]} matrix so every linear layer is a single GEMM over the batch, and only attention
 * runs per sequence. Prefill (many tokens) and decode (one token each) are the same call.
 */
public final class Qwen3Model implements AutoCloseable {
    private final Qwen3Config config;
    private final Qwen3Weights weights;
    private final Checkpoint checkpoint;
    private final LinearAdapter adapter;
    private final boolean checkpointLayers;
    private final float attentionScale;
    /** HF module paths of each layer's linear layers, in {@link #LINEAR_MODULES} order. */
    private final String[][] moduleNames;

    /** The seven linear layers of a decoder layer, as HF names them (LoRA's default targets). */
    public static final List<String> LINEAR_MODULES = List.of(
            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");
    private static final int Q = 0, K = 1, V = 2, O = 3, GATE = 4, UP = 5, DOWN = 6;

    /** A model over weights; {@code checkpoint} (may be null) is closed with the model. */
    public Qwen3Model(Qwen3Config config, Qwen3Weights weights, Checkpoint checkpoint) {
        this(config, weights, checkpoint, null, false);
    }

    private Qwen3Model(Qwen3Config config, Qwen3Weights weights, Checkpoint checkpoint, LinearAdapter adapter,
                       boolean checkpointLayers) {
        this.config = config;
        this.weights = weights;
        this.checkpoint = checkpoint;
        this.adapter = adapter;
        this.checkpointLayers = checkpointLayers;
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.moduleNames = new String[config.numHiddenLayers()][LINEAR_MODULES.size()];
        for (int i = 0; i < moduleNames.length; i++) {
            for (int j = 0; j < LINEAR_MODULES.size(); j++) {
                moduleNames[i][j] = "model.layers." + i + "." + LINEAR_MODULES.get(j);
            }
        }
    }

    /**
     * The same architecture over other weights (e.g. trainable F32 copies) and an optional
     * adapter. The result does not own this model's checkpoint: close this model, not it.
     */
    public Qwen3Model with(Qwen3Weights otherWeights, LinearAdapter otherAdapter) {
        return new Qwen3Model(config, otherWeights, null, otherAdapter, checkpointLayers);
    }

    /**
     * The same model (not owning the checkpoint) with every weight on {@code memory}'s device,
     * uploaded once in its stored dtype ({@link Qwen3Weights#on}); on the host device the weights
     * stay where they are.
     */
    public Qwen3Model on(DeviceTensors memory) {
        return new Qwen3Model(config, weights.on(memory), null, adapter, checkpointLayers);
    }

    /**
     * The same model (not owning the checkpoint) that, when training, keeps only each decoder
     * layer's input and recomputes the layer in backward: activation memory of one layer
     * instead of all, for about a third more compute.
     */
    public Qwen3Model withActivationCheckpointing(boolean on) {
        return new Qwen3Model(config, weights, null, adapter, on);
    }

    /** Loads config.json and the (possibly sharded) safetensors of a Hugging Face model folder. */
    public static Qwen3Model load(Path modelDir) {
        Qwen3Config config = Qwen3Config.load(modelDir);
        Checkpoint checkpoint = Checkpoint.open(modelDir);
        try {
            return new Qwen3Model(config, Qwen3Weights.load(config, checkpoint, modelDir.toString()), checkpoint);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public Qwen3Config config() {
        return config;
    }

    public Qwen3Weights weights() {
        return weights;
    }

    /**
     * Runs the new {@code tokens} of each sequence through the model, appending their keys and
     * values to the matching cache. Returns F32 logits: {@code [sum of lengths, vocab]} when
     * {@code allPositions}, else one row per sequence for its last token, {@code [batch, vocab]}.
     * Where the device fuses kernels ({@link #fuses}) this is the fused forward, else the plain one.
     */
    public Tensor forward(Ops ops, List<int[]> tokens, List<KvCache> caches, boolean allPositions) {
        Inputs in = inputs(tokens, caches);
        Tensor logits;
        if (fuses(ops, caches)) {
            logits = fusedForward(ops, in, ops.intTensor(in.packed()), caches, allPositions);
        } else {
            Tensor h = body(ops, in, caches);
            if (!allPositions) {
                h = lastRows(ops, h, in.starts());                              // [B, H]
            }
            Tensor x = ops.rmsNorm(h, weights.finalNorm(), (float) config.rmsNormEps());
            logits = ops.linear(x, weights.lmHead());                            // [rows, V]
        }
        advance(in, caches);
        return logits;
    }

    /**
     * The checked inputs of a forward of {@code tokens} continuing {@code caches}: token ids,
     * their positions and each sequence's first row. Bad ids or a cache too small are bad input.
     */
    public Inputs inputs(List<int[]> tokens, List<KvCache> caches) {
        if (tokens.size() != caches.size()) {
            throw new IllegalArgumentException(tokens.size() + " sequences but " + caches.size() + " caches");
        }
        for (int s = 0; s < tokens.size(); s++) {
            KvCache cache = caches.get(s);
            if (cache.length() + tokens.get(s).length > cache.capacity()) {
                throw new BadInputException("sequence " + s + " needs " + (cache.length() + tokens.get(s).length)
                        + " positions but its KV cache holds " + cache.capacity());
            }
        }
        return Inputs.of(tokens, caches, config.vocabSize());
    }

    /**
     * Whether {@link #forward} runs fused on {@code ops}' device: where the device asks for it
     * ({@link org.reflectrm.kernels.device.Device#fusesForward}, the GPUs), outside training,
     * with no adapter, q/k/v and gate/up stacked in memory ({@link Qwen3Model#on} puts them so)
     * and q_norm and k_norm of one dtype, and F32 caches that share no prefix.
     */
    public boolean fuses(Ops ops, List<KvCache> caches) {
        if (!ops.device().fusesForward() || ops.recording() || adapter != null) {
            return false;
        }
        for (KvCache c : caches) {
            if (c.prefix() != null || c.type() != DType.F32) {
                return false;
            }
        }
        LayerWeights first = weights.layers().getFirst();
        return Tensor.stacked(first.qProj(), first.kProj(), first.vProj()) != null
                && Tensor.stacked(first.gateProj(), first.upProj()) != null
                && first.qNorm().dtype() == first.kNorm().dtype();          // the QKV split reads both as one type
    }

    /**
     * Queues the fused forward of {@code in}, whose ids and positions are already in device
     * memory as {@code ints} ({@link Inputs#packed}), and returns its logits without advancing the
     * caches ({@link #advance} does that). It uploads and downloads nothing, so a decode step can
     * be recorded and replayed as it is. Per layer it launches a norm-and-QKV projection, per
     * sequence a QKV split into the cache and attention, the output projection added into the
     * residual, norm-gate-up-SiLU, and the down projection added into the residual.
     */
    public Tensor fusedForward(Ops ops, Inputs in, Tensor ints, List<KvCache> caches, boolean allPositions) {
        FusedOps fused = new FusedOps(ops);
        int total = in.ids().length;
        Tensor ids = ints.rows(0, total), positions = ints.rows(total, 2 * total);
        Tensor h = fused.embedding(weights.embedTokens(), ids);                  // [T, H]
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            long mark = ops.mark();
            fusedLayer(ops, fused, layer, h, in, positions, caches);           // updates h in place
            ops.release(mark);
        }
        if (!allPositions && total != in.sequences()) {
            h = lastRows(ops, h, in.starts());
        }
        return fused.rmsNormLinear(h, weights.finalNorm(), (float) config.rmsNormEps(), weights.lmHead());
    }

    /** Marks the positions of {@code in} as filled in their caches, after every layer wrote them. */
    public void advance(Inputs in, List<KvCache> caches) {
        for (int s = 0; s < caches.size(); s++) {
            caches.get(s).advance(in.length(s));
        }
    }

    /**
     * The training forward: sequences that start at position 0 with no cache, each attending
     * only to itself. Returns the final-normed hidden states {@code [sum of lengths, H]}, the
     * input of the output layer, recorded for backward when {@code ops} records.
     */
    public Tensor hiddenStates(Ops ops, List<int[]> tokens) {
        Inputs batch = Inputs.of(tokens, null, config.vocabSize());
        Tensor h = body(ops, batch, null);
        return ops.rmsNorm(h, weights.finalNorm(), (float) config.rmsNormEps());
    }

    /**
     * The next-token loss of a batch of sequences: {@code masks.get(s)[t]} (length T−1) says
     * whether token t+1, predicted at position t, counts. Returns {@code Σ CE / normalizer}
     * over counted tokens, so {@code normalizer} = their count gives the mean; a larger one
     * (all tokens of an accumulated step) lets micro-batches add up to that step's mean.
     */
    public Tensor loss(Ops ops, List<int[]> tokens, List<boolean[]> masks, double normalizer) {
        if (tokens.size() != masks.size()) {
            throw new IllegalArgumentException(tokens.size() + " sequences but " + masks.size() + " masks");
        }
        Tensor h = hiddenStates(ops, tokens);
        Targets targets = Targets.of(tokens, masks);
        float[] weights = new float[targets.ids().length];
        float w = (float) (1.0 / normalizer);
        for (int r = 0; r < weights.length; r++) {
            weights[r] = targets.counted()[r] ? w : 0f;
        }
        return ops.crossEntropy(h, this.weights.lmHead(), targets.ids(), weights);
    }

    /**
     * A loss of the log-probabilities of chosen tokens (a policy-gradient objective): for each
     * sequence, {@code counted.get(s)[t]} (length T−1) says whether token t+1, predicted at
     * position t, counts; {@code term} gets its row in the batch's stacked rows (the sum of the
     * earlier sequences' lengths plus t) and its log-probability under logits scaled by
     * {@code logitScale}. See {@link Ops#tokenObjective}.
     */
    public Tensor tokenObjective(Ops ops, List<int[]> tokens, List<boolean[]> counted, float logitScale,
                                 Ops.TokenObjective term) {
        if (tokens.size() != counted.size()) {
            throw new IllegalArgumentException(tokens.size() + " sequences but " + counted.size() + " masks");
        }
        Tensor h = hiddenStates(ops, tokens);
        Targets targets = Targets.of(tokens, counted);
        return ops.tokenObjective(h, weights.lmHead(), targets.ids(), targets.counted(), logitScale, term);
    }

    /** Per stacked row of a batch: the next token (its target) and whether the row's mask counts it. */
    private record Targets(int[] ids, boolean[] counted) {
        static Targets of(List<int[]> tokens, List<boolean[]> masks) {
            int total = tokens.stream().mapToInt(t -> t.length).sum();
            int[] ids = new int[total];
            boolean[] counted = new boolean[total];
            for (int s = 0, row = 0; s < tokens.size(); s++) {
                int[] seq = tokens.get(s);
                boolean[] mask = masks.get(s);
                if (mask.length != seq.length - 1) {
                    throw new IllegalArgumentException("sequence " + s + " has " + seq.length + " tokens but a mask of " + mask.length);
                }
                for (int t = 0; t < seq.length - 1; t++) {
                    if (mask[t]) {
                        ids[row + t] = seq[t + 1];
                        counted[row + t] = true;
                    }
                }
                row += seq.length;
            }
            return new Targets(ids, counted);
        }
    }

    /** The decoder layers over a batch; {@code caches} is null for training (self-attention). */
    private Tensor body(Ops ops, Inputs batch, List<KvCache> caches) {
        Tensor h = ops.embedding(weights.embedTokens(), batch.ids());          // [T, H]
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            if (ops.recording()) {
                int l = layer;
                if (checkpointLayers) {
                    h = ops.checkpoint(h, (o, in) -> decoderLayer(o, l, in, batch, null));
                } else {
                    // Backward needs every activation; the layer's gradients are freed after its backward.
                    Tensor in = h;
                    ops.tape().beginBlock();
                    h = decoderLayer(ops, layer, h, batch, caches);
                    ops.tape().endBlock(in);
                }
                continue;
            }
            // Only the residual stream outlives a layer: write it back over h and let the
            // allocator reuse the layer's activations.
            long mark = ops.mark();
            ops.copyInto(decoderLayer(ops, layer, h, batch, caches), h);
            ops.release(mark);
        }
        return h;
    }

    /**
     * A forward's token ids stacked into one column, with each row's position and each
     * sequence's first row ({@code starts[B]} is the row count).
     */
    public record Inputs(int[] ids, int[] positions, int[] starts) {
        static Inputs of(List<int[]> tokens, List<KvCache> caches, int vocab) {
            int total = 0;
            for (int s = 0; s < tokens.size(); s++) {
                if (tokens.get(s).length == 0) {
                    throw new IllegalArgumentException("sequence " + s + " has no tokens");
                }
                total += tokens.get(s).length;
            }
            int[] ids = new int[total];
            int[] positions = new int[total];
            int[] starts = new int[tokens.size() + 1];
            for (int s = 0, row = 0; s < tokens.size(); s++) {
                int[] seq = tokens.get(s);
                int start = caches == null ? 0 : caches.get(s).length();
                starts[s] = row;
                for (int t = 0; t < seq.length; t++, row++) {
                    if (seq[t] < 0 || seq[t] >= vocab) {
                        throw new BadInputException("token id " + seq[t] + " at position " + t + " of sequence " + s
                                + " is outside the vocabulary [0, " + vocab + ")");
                    }
                    ids[row] = seq[t];
                    positions[row] = start + t;
                }
            }
            starts[tokens.size()] = total;
            return new Inputs(ids, positions, starts);
        }

        /** The ids, then the positions: what the fused forward reads from device memory. */
        public int[] packed() {
            int[] out = Arrays.copyOf(ids, 2 * ids.length);
            System.arraycopy(positions, 0, out, ids.length, positions.length);
            return out;
        }

        int sequences() {
            return starts.length - 1;
        }

        int length(int s) {
            return starts[s + 1] - starts[s];
        }
    }

    private Tensor decoderLayer(Ops ops, int layer, Tensor h, Inputs batch, List<KvCache> caches) {
        LayerWeights w = weights.layers().get(layer);
        String[] names = moduleNames[layer];
        float eps = (float) config.rmsNormEps();
        int t = h.dim(0);
        int nh = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), d = config.headDim();

        // Attention block: pre-norm, projections, per-head q/k RMSNorm, then RoPE (norm first).
        Tensor x = ops.rmsNorm(h, w.inputNorm(), eps);
        Tensor q = ops.rmsNorm(linear(ops, x, w.qProj(), names[Q]).reshape(t, nh, d), w.qNorm(), eps);
        Tensor k = ops.rmsNorm(linear(ops, x, w.kProj(), names[K]).reshape(t, nkv, d), w.kNorm(), eps);
        Tensor v = linear(ops, x, w.vProj(), names[V]).reshape(t, nkv, d);
        q = ops.rope(q, batch.positions(), (float) config.ropeTheta());
        k = ops.rope(k, batch.positions(), (float) config.ropeTheta());

        Tensor attn;
        if (caches == null) {
            List<Tensor> outputs = new ArrayList<>(batch.sequences());
            for (int s = 0; s < batch.sequences(); s++) {
                int from = batch.starts()[s], to = batch.starts()[s + 1];
                outputs.add(ops.selfAttention(q.rows(from, to), k.rows(from, to), v.rows(from, to), attentionScale));
            }
            attn = outputs.size() == 1 ? outputs.getFirst() : ops.concatRows(outputs);
        } else {
            // Every sequence stores its new keys and values, then all attend in one call: on the
            // host that is one parallel loop for the whole batch.
            List<Ops.CachedSequence> sequences = new ArrayList<>(batch.sequences());
            for (int s = 0; s < batch.sequences(); s++) {
                int from = batch.starts()[s], to = batch.starts()[s + 1];
                KvCache cache = caches.get(s);
                int start = cache.length();
                int row = start - cache.prefixLength();      // the cache's own rows start after a shared prefix
                ops.copyInto(k.rows(from, to), cache.keys(layer).rows(row, row + to - from));
                ops.copyInto(v.rows(from, to), cache.values(layer).rows(row, row + to - from));
                KvCache shared = cache.prefix();
                sequences.add(new Ops.CachedSequence(to - from, shared == null ? null : shared.keys(layer),
                        shared == null ? null : shared.values(layer), cache.prefixLength(),
                        cache.keys(layer), cache.values(layer), start));
            }
            attn = ops.attention(q, sequences, attentionScale);
        }
        h = ops.add(h, linear(ops, attn.reshape(t, nh * d), w.oProj(), names[O]));

        // MLP block: pre-norm SwiGLU.
        x = ops.rmsNorm(h, w.postNorm(), eps);
        Tensor gated = ops.swiglu(linear(ops, x, w.gateProj(), names[GATE]), linear(ops, x, w.upProj(), names[UP]));
        return ops.add(h, linear(ops, gated, w.downProj(), names[DOWN]));
    }

    /**
     * A decoder layer of the fused forward, adding into the residual stream {@code h} in place:
     * norm+QKV, the split into q and the caches, attention, and the two projections into the
     * residual with norm+gate/up+SiLU between them (on CUDA a decode step's split and attention
     * are one launch each for the whole batch).
     */
    private void fusedLayer(Ops ops, FusedOps fused, int layer, Tensor h, Inputs in, Tensor positions,
                            List<KvCache> caches) {
        LayerWeights w = weights.layers().get(layer);
        float eps = (float) config.rmsNormEps();
        int t = h.dim(0), nh = config.numAttentionHeads(), d = config.headDim();
        Tensor qkv = fused.rmsNormLinear(h, w.inputNorm(), eps, Tensor.stacked(w.qProj(), w.kProj(), w.vProj()));
        Tensor q = ops.empty(t, nh, d);
        List<Ops.CachedSequence> sequences = new ArrayList<>(in.sequences());
        for (int s = 0; s < in.sequences(); s++) {
            KvCache cache = caches.get(s);
            sequences.add(new Ops.CachedSequence(in.length(s), null, null, 0, cache.keys(layer), cache.values(layer),
                    cache.length()));
        }
        fused.splitQkv(qkv, w.qNorm(), w.kNorm(), eps, positions, (float) config.ropeTheta(), q, sequences);
        Tensor attn = fused.attention(q, sequences, attentionScale, positions);
        fused.addLinear(h, attn.reshape(t, nh * d), w.oProj());
        Tensor mlp = fused.rmsNormGateUpSwiglu(h, w.postNorm(), eps, Tensor.stacked(w.gateProj(), w.upProj()));
        fused.addLinear(h, mlp, w.downProj());
    }

    /** A linear layer, through the adapter where it has one. */
    private Tensor linear(Ops ops, Tensor x, Tensor w, String module) {
        Tensor y = adapter == null ? null : adapter.linear(ops, module, x, w);
        return y != null ? y : ops.linear(x, w);
    }

    private static Tensor lastRows(Ops ops, Tensor h, int[] starts) {
        int batch = starts.length - 1;
        Tensor out = ops.empty(batch, h.dim(1));
        for (int s = 0; s < batch; s++) {
            ops.copyInto(h.rows(starts[s + 1] - 1, starts[s + 1]), out.rows(s, s + 1));
        }
        return out;
    }

    @Override
    public void close() {
        if (checkpoint != null) {
            checkpoint.close();
        }
    }
}
