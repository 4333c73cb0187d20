package org.reflectrm.model.qwen3;

import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Tensor;

/**
 * The keys (after q/k-norm and RoPE) and values of one sequence, per layer, as
 * {@code [rows, kvHeads, headDim]} in the memory of a device. {@link #length()} positions are
 * filled. F32 by default, which keeps the forward exact; BF16 on the host halves the memory and
 * what a decode step reads (the values are rounded to nearest even as they are stored, as in a
 * PyTorch BF16 model's cache).
 *
 * <p>A cache may start with a shared prefix: the first {@link #prefixLength()} positions are read
 * from another cache (the prefill of a prompt that N sequences continue), and only the positions
 * after it are stored here, from row 0. The prefix cache must stay open while this one is used.
 * Only the host shares: attention over a shared prefix is a CPU kernel, so on a GPU the new cache
 * starts with a copy of the prefix's rows instead (and has no prefix of its own).
 */
public final class KvCache implements AutoCloseable {
    private final DeviceTensors memory;
    private final Tensor[] keys;
    private final Tensor[] values;
    private final int capacity;
    private final DType type;
    private final KvCache prefix;
    private final int prefixLength;
    private int length;

    /** A host cache, computed on by {@code backend}. */
    public KvCache(Qwen3Config config, Backend backend, int capacity) {
        this(config, new HostDevice(backend), capacity, null, 0);
    }

    /** A host cache that shares {@code prefixLength} positions of {@code prefix} (see below). */
    public KvCache(Qwen3Config config, Backend backend, int capacity, KvCache prefix, int prefixLength) {
        this(config, new HostDevice(backend), capacity, prefix, prefixLength);
    }

    /**
     * A cache of {@code capacity} positions in {@code device}'s memory whose first
     * {@code prefixLength} are those of {@code prefix} (null for none): shared, not copied, on the
     * host, where it stores only the other {@code capacity - prefixLength}; copied on a GPU.
     */
    public KvCache(Qwen3Config config, Device device, int capacity, KvCache prefix, int prefixLength) {
        this(config, device, DType.F32, capacity, prefix, prefixLength);
    }

    /**
     * As {@link #KvCache(Qwen3Config, Device, int, KvCache, int)}, holding {@code type}: F32, or
     * BF16 on the host (a shared prefix must hold the same type).
     */
    public KvCache(Qwen3Config config, Device device, DType type, int capacity, KvCache prefix, int prefixLength) {
        if (type != DType.F32 && (type != DType.BF16 || !(device instanceof HostDevice))) {
            throw new IllegalArgumentException("a KV cache holds F32, or BF16 on the CPU; not " + type + " on "
                    + device.kind());
        }
        if (prefix != null && prefix.type != type) {
            throw new IllegalArgumentException("a " + type + " cache cannot share a " + prefix.type + " prefix");
        }
        if (prefix != null && (prefix.prefix != null || prefixLength > prefix.length || prefixLength > capacity)) {
            throw new IllegalArgumentException("cannot share " + prefixLength + " positions of a cache of "
                    + prefix.length + (prefix.prefix != null ? " that itself has a shared prefix" : "")
                    + " in one of capacity " + capacity);
        }
        boolean share = prefix != null && device instanceof HostDevice;
        this.memory = new DeviceTensors(device);
        this.capacity = capacity;
        this.type = type;
        this.prefix = share ? prefix : null;
        this.prefixLength = share ? prefixLength : 0;
        this.length = prefix == null ? 0 : prefixLength;
        int layers = config.numHiddenLayers();
        int rows = Math.max(1, capacity - this.prefixLength);
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        // One allocation for all layers, [layer][k|v][rows][kvHeads·headDim]: a cache costs one
        // driver call on a GPU, not two per layer.
        Tensor all = memory.zeros(type, 2 * layers * rows, config.numKeyValueHeads(), config.headDim());
        for (int i = 0; i < layers; i++) {
            keys[i] = all.rows(2 * i * rows, (2 * i + 1) * rows);
            values[i] = all.rows((2 * i + 1) * rows, (2 * i + 2) * rows);
            if (prefix != null && !share) {
                long n = (long) prefixLength * config.kvDim();
                device.copy(prefix.keys[i].buffer(), prefix.keys[i].offset(), keys[i].buffer(), keys[i].offset(), n);
                device.copy(prefix.values[i].buffer(), prefix.values[i].offset(), values[i].buffer(), values[i].offset(), n);
            }
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

    /** What the keys and values are stored as: F32 or BF16. */
    public DType type() {
        return type;
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
        return 2L * keys.length * type.bytes(keys[0].numel());
    }

    @Override
    public void close() {
        memory.close();
    }
}
