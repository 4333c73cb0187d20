package org.reflectrm.model.generate;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * The one model definition, {@link Qwen3Model} through {@link Ops}, as a {@link LanguageModel}
 * on any {@link Device}: the CPU (through {@link HostDevice}) or a GPU. Activations live in a
 * scratch allocator that is reset after every forward, so steady decoding on the host allocates
 * nothing. GPU inference has a faster, fused forward ({@code DeviceQwen3}); this one serves what
 * must run on the weights being trained, such as GRPO's rollouts on a GPU.
 */
public final class Qwen3LanguageModel implements LanguageModel {
    private static final long SCRATCH_CHUNK = 64L << 20;

    private final Qwen3Model model;
    private final Device device;
    private final DType kvType;

    /** The model on the host, computed by {@code backend}. */
    public Qwen3LanguageModel(Qwen3Model model, Backend backend) {
        this(model, new HostDevice(backend));
    }

    /** The model on {@code device}, whose memory must hold its weights (see {@link Qwen3Model#on}). */
    public Qwen3LanguageModel(Qwen3Model model, Device device) {
        this(model, device, DType.F32);
    }

    /**
     * The model on {@code device} with KV caches of {@code kvType}: F32 (exact), or BF16 on the
     * host, which halves the memory a cache takes and the bytes a decode step reads from it
     * ({@link KvCache} refuses other types).
     */
    public Qwen3LanguageModel(Qwen3Model model, Device device, DType kvType) {
        this.model = model;
        this.device = device;
        this.kvType = kvType;
    }

    /** What the KV caches hold: F32 or BF16. */
    public DType kvType() {
        return kvType;
    }

    @Override
    public org.reflectrm.model.qwen3.Qwen3Config config() {
        return model.config();
    }

    @Override
    public String device() {
        if (device instanceof HostDevice host) {
            return host.backend().name() + " (" + host.backend().threads() + " threads)";
        }
        return device.kind() + " (" + device.description() + ")";
    }

    @Override
    public Session open() {
        return new OpsSession();
    }

    /** A KV cache seen through the generation interface. */
    private record ModelCache(KvCache cache) implements Cache {
        @Override
        public int length() {
            return cache.length();
        }

        @Override
        public int capacity() {
            return cache.capacity();
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    private static KvCache kv(Cache c) {
        if (!(c instanceof ModelCache m)) {
            throw new IllegalArgumentException("cache " + c + " was not made by a Qwen3LanguageModel");
        }
        return m.cache();
    }

    private final class OpsSession implements Session {
        private final Allocator scratch = Allocator.scratch(device, SCRATCH_CHUNK);
        private final Ops ops = new Ops(scratch);

        @Override
        public Cache newCache(int capacity) {
            return new ModelCache(new KvCache(model.config(), device, kvType, capacity, null, 0));
        }

        @Override
        public float[] forward(List<int[]> tokens, List<Cache> caches) {
            List<KvCache> kvs = new ArrayList<>(caches.size());
            for (Cache c : caches) {
                kvs.add(kv(c));
            }
            try {
                Tensor logits = model.forward(ops, tokens, kvs, false);
                return logits.toFloatArray();
            } finally {
                scratch.reset();
            }
        }

        @Override
        public Cache newCache(int capacity, Cache prefix, int prefixLength) {
            return new ModelCache(new KvCache(model.config(), device, kvType, capacity, kv(prefix), prefixLength));
        }

        @Override
        public void close() {
            scratch.close();
        }
    }
}
