package org.reflectrm.model.generate;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.ScratchAllocator;
import org.reflectrm.tensor.Tensor;

/**
 * A {@link Qwen3Model} on a host {@link Backend}: activations live in a scratch allocator that is
 * reset after every forward, so steady decoding allocates nothing.
 */
public final class CpuLanguageModel implements LanguageModel {
    private static final long SCRATCH_CHUNK = 64L << 20;

    private final Qwen3Model model;
    private final Backend backend;

    public CpuLanguageModel(Qwen3Model model, Backend backend) {
        this.model = model;
        this.backend = backend;
    }

    @Override
    public org.reflectrm.model.qwen3.Qwen3Config config() {
        return model.config();
    }

    @Override
    public String device() {
        return backend.name() + " (" + backend.threads() + " threads)";
    }

    @Override
    public Session open() {
        return new CpuSession();
    }

    /** A host KV cache seen through the generation interface. */
    private record HostCache(KvCache cache) implements Cache {
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

    private static KvCache host(Cache c) {
        if (!(c instanceof HostCache h)) {
            throw new IllegalArgumentException("cache " + c + " was not made by a CPU model");
        }
        return h.cache();
    }

    private final class CpuSession implements Session {
        private final ScratchAllocator scratch = new ScratchAllocator(backend, SCRATCH_CHUNK);
        private final Ops ops = new Ops(scratch);

        @Override
        public Cache newCache(int capacity) {
            return new HostCache(new KvCache(model.config(), backend, capacity));
        }

        @Override
        public float[] forward(List<int[]> tokens, List<Cache> caches) {
            List<KvCache> kv = new ArrayList<>(caches.size());
            for (Cache c : caches) {
                kv.add(host(c));
            }
            try {
                Tensor logits = model.forward(ops, tokens, kv, false);
                return logits.toFloatArray();
            } finally {
                scratch.reset();
            }
        }

        @Override
        public Cache newCache(int capacity, Cache prefix, int prefixLength) {
            return new HostCache(new KvCache(model.config(), backend, capacity, host(prefix), prefixLength));
        }

        @Override
        public void close() {
            scratch.close();
        }
    }
}
