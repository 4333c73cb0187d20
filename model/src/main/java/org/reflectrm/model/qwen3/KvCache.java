package org.reflectrm.model.qwen3;

import java.lang.foreign.Arena;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.tensor.Tensor;

/**
 * The keys (after q/k-norm and RoPE) and values of one sequence, per layer, as F32
 * {@code [capacity, kvHeads, headDim]}. {@link #length()} positions are filled.
 */
public final class KvCache implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int capacity;
    private int length;

    public KvCache(Qwen3Config config, Backend backend, int capacity) {
        this.capacity = capacity;
        int layers = config.numHiddenLayers();
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        long bytes = (long) capacity * config.kvDim() * 4;
        for (int i = 0; i < layers; i++) {
            keys[i] = new Tensor(backend.allocate(arena, bytes), 0, DType.F32, capacity, config.numKeyValueHeads(), config.headDim());
            values[i] = new Tensor(backend.allocate(arena, bytes), 0, DType.F32, capacity, config.numKeyValueHeads(), config.headDim());
        }
    }

    public Tensor keys(int layer) {
        return keys[layer];
    }

    public Tensor values(int layer) {
        return values[layer];
    }

    /** Positions already cached. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Marks {@code n} more positions as filled, after every layer has written them. */
    void advance(int n) {
        if (length + n > capacity) {
            throw new IllegalStateException("KV cache overflow: " + (length + n) + " > " + capacity);
        }
        length += n;
    }

    /**
     * Makes this cache hold the first {@code n} positions of {@code src} (its other positions are
     * dropped): how sequences that share a prompt prefix start from one prefill.
     */
    public void copyPrefixFrom(KvCache src, int n, Backend backend) {
        if (n > src.length || n > capacity || src.keys.length != keys.length
                || src.keys[0].numel() / src.capacity != keys[0].numel() / capacity) {
            throw new IllegalArgumentException("cannot copy " + n + " positions of a cache of " + src.length
                    + " into one of capacity " + capacity);
        }
        long perPosition = keys[0].numel() / capacity;
        for (int layer = 0; layer < keys.length; layer++) {
            backend.copy(src.keys[layer].segment(), 0, keys[layer].segment(), 0, n * perPosition);
            backend.copy(src.values[layer].segment(), 0, values[layer].segment(), 0, n * perPosition);
        }
        length = n;
    }

    /** Bytes held. */
    public long byteSize() {
        return 2L * keys.length * keys[0].numel() * 4;
    }

    @Override
    public void close() {
        arena.close();
    }
}
