package org.reflectrm.model.generate;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.kernels.device.RecordingDevice;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * The one model definition, {@link Qwen3Model} through {@link Ops}, as a {@link LanguageModel}
 * on any {@link Device}: the CPU (through {@link HostDevice}) or a GPU, where the model runs its
 * fused forward ({@link Qwen3Model#fuses}). Activations live in scratch that is reset after every
 * forward, so steady decoding allocates nothing.
 *
 * <p>On a {@link RecordingDevice} that fuses (CUDA), the first decode step of a batch (one new
 * token per sequence) is recorded and every later step of the same batch replays it: one upload
 * of ids and positions, one replay and one download, where launching each kernel would cost the
 * host more than the kernels take. A step that needs scratch memory first cannot be recorded;
 * it runs directly, and the next one is recorded.
 */
public final class Qwen3LanguageModel implements LanguageModel {
    private static final long SCRATCH_CHUNK = 64L << 20;

    /** Set to 0 to launch every kernel of every step (no recording), for comparison. */
    public static final String GRAPHS_ENV = "REFLECTRM_DEVICE_GRAPHS";

    private final Qwen3Model model;
    private final Device device;
    private final DType kvType;
    /** Whether decode steps are recorded and replayed; off where the device cannot, or after a failure. */
    private volatile boolean graphsUsable;
    private final AtomicLong replays = new AtomicLong();
    /** Device memory a batch may take ({@link #batchMemoryBudget}); unlimited on the host. */
    private volatile long batchMemoryBudget;

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
     * ({@link KvCache} refuses other types). Decode steps are recorded where the device can,
     * unless {@value #GRAPHS_ENV} is 0.
     */
    public Qwen3LanguageModel(Qwen3Model model, Device device, DType kvType) {
        this(model, device, kvType, !"0".equals(System.getenv(GRAPHS_ENV)));
    }

    /** As above, choosing whether decode steps are recorded (where the device can record at all). */
    public Qwen3LanguageModel(Qwen3Model model, Device device, DType kvType, boolean recordDecodeSteps) {
        this.model = model;
        this.device = device;
        this.kvType = kvType;
        this.graphsUsable = recordDecodeSteps && device instanceof RecordingDevice && device.fusesForward();
        // On a GPU: its memory less what is held already (the weights) and a tenth for the driver,
        // scratch kernels and fragmentation.
        this.batchMemoryBudget = device instanceof HostDevice ? Long.MAX_VALUE
                : Math.max(0, device.memoryBytes() - device.memoryBytes() / 10 - device.allocations().live());
    }

    @Override
    public long batchMemoryBudget() {
        return batchMemoryBudget;
    }

    /**
     * Sets the device memory a batch may take (see {@link LanguageModel#batchMemoryBudget}), for
     * a GPU shared with other work; returns this model.
     */
    public Qwen3LanguageModel withBatchMemoryBudget(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a batch memory budget must be positive, got " + bytes);
        }
        this.batchMemoryBudget = bytes;
        return this;
    }

    /** What the KV caches hold: F32 or BF16. */
    public DType kvType() {
        return kvType;
    }

    /** Decode steps that ran as a replay of a recording, since the model was made. */
    public long replayedSteps() {
        return replays.get();
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

    private static boolean isDecode(List<int[]> tokens) {
        for (int[] t : tokens) {
            if (t.length != 1) {
                return false;
            }
        }
        return !tokens.isEmpty();
    }

    /** F32 logits brought to the host through the device's download, which counts the bytes (on the host too). */
    private float[] download(Tensor logits) {
        float[] out = new float[Math.toIntExact(logits.numel())];
        device.download(logits.buffer(), 4L * logits.offset(), MemorySegment.ofArray(out));
        return out;
    }

    private final class OpsSession implements Session {
        private final Allocator scratch = Allocator.scratch(device, SCRATCH_CHUNK);
        private final Ops ops = new Ops(scratch);
        private final DecodeGraphs graphs = new DecodeGraphs(device, scratch);

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
            if (!graphsUsable || !isDecode(tokens) || !model.fuses(ops, kvs)) {
                graphs.close();
                try {
                    return download(model.forward(ops, tokens, kvs, false));
                } finally {
                    scratch.reset();
                }
            }
            Qwen3Model.Inputs in = model.inputs(tokens, kvs);
            Tensor ints = graphs.ints(in.packed());      // may replace the ids buffer, and so end the recording
            DecodeGraphs.Recorded step = graphs.replayable(kvs);
            if (step == null) {
                try {
                    step = graphs.record(kvs, () -> model.fusedForward(ops, in, ints, kvs, false));
                } catch (DecodeGraphs.CannotRecord e) {
                    graphsUsable = false;
                    System.err.println("reflectrm-j: recording decode steps failed (" + e.getMessage()
                            + "); launching kernels one by one from now on");
                }
            }
            if (step == null) {                        // scratch had to grow, or recording is off: run directly
                try {
                    Tensor logits = model.fusedForward(ops, in, ints, kvs, false);
                    model.advance(in, kvs);
                    return download(logits);
                } finally {
                    scratch.reset();
                }
            }
            step.launch();
            replays.incrementAndGet();
            model.advance(in, kvs);
            return download(step.logits());
        }

        @Override
        public Cache newCache(int capacity, Cache prefix, int prefixLength) {
            return new ModelCache(new KvCache(model.config(), device, kvType, capacity, kv(prefix), prefixLength));
        }

        @Override
        public void close() {
            graphs.close();
            graphs.closeInts();
            scratch.close();
        }
    }
}
