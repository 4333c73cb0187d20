package org.reflectrm.model.qwen3;

import java.nio.file.Path;
import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.Checkpoint;
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
    private final float attentionScale;

    /** A model over weights; {@code checkpoint} (may be null) is closed with the model. */
    public Qwen3Model(Qwen3Config config, Qwen3Weights weights, Checkpoint checkpoint) {
        this.config = config;
        this.weights = weights;
        this.checkpoint = checkpoint;
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
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
     */
    public Tensor forward(Ops ops, List<int[]> tokens, List<KvCache> caches, boolean allPositions) {
        if (tokens.size() != caches.size()) {
            throw new IllegalArgumentException(tokens.size() + " sequences but " + caches.size() + " caches");
        }
        int total = 0;
        for (int s = 0; s < tokens.size(); s++) {
            int[] seq = tokens.get(s);
            if (seq.length == 0) {
                throw new IllegalArgumentException("sequence " + s + " has no tokens");
            }
            KvCache cache = caches.get(s);
            if (cache.length() + seq.length > cache.capacity()) {
                throw new BadInputException("sequence " + s + " needs " + (cache.length() + seq.length)
                        + " positions but its KV cache holds " + cache.capacity());
            }
            total += seq.length;
        }
        int[] ids = new int[total];
        int[] positions = new int[total];
        int[] starts = new int[tokens.size() + 1];
        for (int s = 0, row = 0; s < tokens.size(); s++) {
            int[] seq = tokens.get(s);
            starts[s] = row;
            for (int t = 0; t < seq.length; t++, row++) {
                if (seq[t] < 0 || seq[t] >= config.vocabSize()) {
                    throw new BadInputException("token id " + seq[t] + " at position " + t + " of sequence " + s
                            + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
                ids[row] = seq[t];
                positions[row] = caches.get(s).length() + t;
            }
        }
        starts[tokens.size()] = total;

        Tensor h = ops.embedding(weights.embedTokens(), ids);                 // [T, H]
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            // Only the residual stream outlives a layer: write it back over h and let the
            // allocator reuse the layer's activations (a no-op where they must be kept).
            long mark = ops.mark();
            ops.copyInto(decoderLayer(ops, layer, h, positions, starts, caches), h);
            ops.release(mark);
        }
        // Advance only after all layers wrote: each layer finds its write position at length().
        for (int s = 0; s < caches.size(); s++) {
            caches.get(s).advance(starts[s + 1] - starts[s]);
        }
        if (!allPositions) {
            h = lastRows(ops, h, starts);                                      // [B, H]
        }
        Tensor x = ops.rmsNorm(h, weights.finalNorm(), (float) config.rmsNormEps());
        return ops.linear(x, weights.lmHead());                                // [rows, V]
    }

    private Tensor decoderLayer(Ops ops, int layer, Tensor h, int[] positions, int[] starts, List<KvCache> caches) {
        LayerWeights w = weights.layers().get(layer);
        float eps = (float) config.rmsNormEps();
        int t = h.dim(0);
        int nh = config.numAttentionHeads(), nkv = config.numKeyValueHeads(), d = config.headDim();

        // Attention block: pre-norm, projections, per-head q/k RMSNorm, then RoPE (norm first).
        Tensor x = ops.rmsNorm(h, w.inputNorm(), eps);
        Tensor q = ops.rmsNorm(ops.linear(x, w.qProj()).reshape(t, nh, d), w.qNorm(), eps);
        Tensor k = ops.rmsNorm(ops.linear(x, w.kProj()).reshape(t, nkv, d), w.kNorm(), eps);
        Tensor v = ops.linear(x, w.vProj()).reshape(t, nkv, d);
        q = ops.rope(q, positions, (float) config.ropeTheta());
        k = ops.rope(k, positions, (float) config.ropeTheta());

        Tensor attn = ops.empty(t, nh, d);
        for (int s = 0; s < caches.size(); s++) {
            KvCache cache = caches.get(s);
            int from = starts[s], to = starts[s + 1], start = cache.length();
            ops.copyInto(k.rows(from, to), cache.keys(layer).rows(start, start + to - from));
            ops.copyInto(v.rows(from, to), cache.values(layer).rows(start, start + to - from));
            Tensor o = ops.attention(q.rows(from, to), cache.keys(layer), cache.values(layer), start, attentionScale);
            ops.copyInto(o, attn.rows(from, to));
        }
        h = ops.add(h, ops.linear(attn.reshape(t, nh * d), w.oProj()));

        // MLP block: pre-norm SwiGLU.
        x = ops.rmsNorm(h, w.postNorm(), eps);
        Tensor gated = ops.swiglu(ops.linear(x, w.gateProj()), ops.linear(x, w.upProj()));
        return ops.add(h, ops.linear(gated, w.downProj()));
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
