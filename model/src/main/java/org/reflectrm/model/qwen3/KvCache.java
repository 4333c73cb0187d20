package org.reflectrm.model.qwen3;

import java.lang.foreign.Arena;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.tensor.Tensor;

/**
 * The keys (after q/k-norm and RoPE) and values of one sequence, per layer, as F32
 * {@code [rows, kvHeads, headDim]}. {@link #length()} positions are filled.
 *
 * <p>A cache may start with a shared prefix: the first {@link #prefixLength()} positions are read
 * from another cache (the prefill of a prompt that N sequences continue), and only the positions
 * after it are stored here, from row 0. The prefix cache must stay open while this one is used.
 */
public final class KvCache implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int capacity;
    private final KvCache prefix;
    private final int prefixLength;
    private int length;

    public KvCache(Qwen3Config config, Backend backend, int capacity) {
        this(config, backend, capacity, null, 0);
    }

    /**
     * A cache of {@code capacity} positions whose first {@code prefixLength} are those of
     * {@code prefix} (shared, not copied); it stores only the other {@code capacity - prefixLength}.
     */
    public KvCache(Qwen3Config config, Backend backend, int capacity, KvCache prefix, int prefixLength) {
        if (prefix != null && (prefix.prefix != null || prefixLength > prefix.length || prefixLength > capacity)) {
            throw new IllegalArgumentException("cannot share " + prefixLength + " positions of a cache of "
                    + prefix.length + (prefix.prefix != null ? " that itself has a shared prefix" : "")
                    + " in one of capacity " + capacity);
        }
        this.capacity = capacity;
        this.prefix = prefix;
        this.prefixLength = prefix == null ? 0 : prefixLength;
        this.length = this.prefixLength;
        int layers = config.numHiddenLayers();
        int rows = Math.max(1, capacity - this.prefixLength);
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        long bytes = (long) rows * config.kvDim() * 4;
        for (int i = 0; i < layers; i++) {
            keys[i] = new Tensor(backend.allocate(arena, bytes), 0, DType.F32, rows, config.numKeyValueHeads(), config.headDim());
            values[i] = new Tensor(backend.allocate(arena, bytes), 0, DType.F32, rows, config.numKeyValueHeads(), config.headDim());
        }
    }

    /** This cache's own keys of a layer: row r holds position {@code prefixLength() + r}. */
    public Tensor keys(int layer) {
        return keys[layer];
    }

    /** This cache's own values of a layer, rows as {@link #keys}. */
    public Tensor values(int layer) {
        return values[layer];
    }

    /** The cache holding the shared prefix, or null. */
    public KvCache prefix() {
        return prefix;
    }

    /** Positions read from {@link #prefix()}: 0 without one. */
    public int prefixLength() {
        return prefixLength;
    }

    /** Positions filled, the shared prefix included. */
    public int length() {
        return length;
    }

    /** Positions this cache can hold, the shared prefix included. */
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

    /** Bytes held by this cache itself (not its shared prefix). */
    public long byteSize() {
        return 2L * keys.length * keys[0].numel() * 4;
    }

    @Override
    public void close() {
        arena.close();
    }
}
