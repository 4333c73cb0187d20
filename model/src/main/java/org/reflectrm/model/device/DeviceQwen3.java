package org.reflectrm.model.device;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.DeviceGraph;
import org.reflectrm.kernels.device.RecordingDevice;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;

/**
 * The Qwen3 forward with weights, activations and KV caches resident on a {@link Device}: only
 * token ids and positions go up, and only logits come back. Per decoder layer it issues
 * <ol>
 *   <li>RMSNorm fused into the QKV projection (one launch for q, k and v);</li>
 *   <li>per sequence, the q/k norm and RoPE fused with the write into the KV cache, then attention;</li>
 *   <li>the output projection accumulated into the residual stream;</li>
 *   <li>RMSNorm, gate, up and SiLU in one launch;</li>
 *   <li>the down projection accumulated into the residual stream.</li>
 * </ol>
 * It computes what {@link Qwen3Model#forward} computes, up to float summation order.
 */
public final class DeviceQwen3 implements LanguageModel, AutoCloseable {
    private final Device device;
    private final Qwen3Config config;
    private final DeviceWeights weights;
    private final float eps;
    private final float theta;
    private final float attentionScale;
    /** Whether decode steps are recorded and replayed; off on devices that cannot, or after a failure. */
    private volatile boolean graphsUsable;
    private final java.util.concurrent.atomic.AtomicLong replays = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Copies the model's weights to {@code device}; the caller still owns both. Decode steps are
     * recorded and replayed where the device can, unless {@value #GRAPHS_ENV} is 0.
     */
    public DeviceQwen3(Qwen3Model model, Device device) {
        this(model, device, !"0".equals(System.getenv(GRAPHS_ENV)));
    }

    /** As above, choosing whether decode steps are recorded (where the device can record at all). */
    public DeviceQwen3(Qwen3Model model, Device device, boolean recordDecodeSteps) {
        this.device = device;
        this.config = model.config();
        this.weights = new DeviceWeights(device, model.weights());
        this.eps = (float) config.rmsNormEps();
        this.theta = (float) config.ropeTheta();
        this.attentionScale = (float) (1.0 / Math.sqrt(config.headDim()));
        this.graphsUsable = recordDecodeSteps && device instanceof RecordingDevice;
    }

    /** Set to 0 to launch every kernel of every step (no recording), for comparison. */
    public static final String GRAPHS_ENV = "REFLECTRM_DEVICE_GRAPHS";

    @Override
    public Qwen3Config config() {
        return config;
    }

    @Override
    public String device() {
        return device.kind() + ": " + device.description();
    }

    /** Decode steps that ran as a replay of a recording, since the model was made. */
    public long replayedSteps() {
        return replays.get();
    }

    /** Bytes of weights held on the device. */
    public long weightBytes() {
        return weights.bytes;
    }

    @Override
    public DeviceSession open() {
        return new DeviceSession();
    }

    /**
     * Forwards sharing one set of device activation buffers. On a {@link RecordingDevice}, the
     * first decode step (one new token per sequence) of a batch is recorded and every later step
     * of the same batch replays it: one upload, one replay and one download. A step that needs a
     * buffer to grow cannot be recorded; it runs directly, and the next one is recorded.
     */
    public final class DeviceSession implements Session {
        private final DeviceScratch scratch = new DeviceScratch(device);
        private DecodeGraph graph;

        @Override
        public Cache newCache(int capacity) {
            return new DeviceKvCache(device, config, capacity);
        }

        @Override
        public float[] forward(List<int[]> tokens, List<Cache> caches) {
            if (!graphsUsable || !isDecode(tokens)) {
                closeGraph();
                return DeviceQwen3.this.forward(scratch, tokens, caches, false);
            }
            Step step = prepare(scratch, tokens, caches);  // may grow the ids buffer: check the graph after
            if (graph != null && !graph.serves(caches, scratch.generation())) {
                closeGraph();
            }
            if (graph == null) {
                graph = record(scratch, step, caches);
            }
            if (graph == null) {
                return finish(scratch, step, caches, enqueue(scratch, step, caches, false));
            }
            graph.recording().launch();
            replays.incrementAndGet();
            return finish(scratch, step, caches, caches.size());  // a decode step: one logit row per sequence
        }

        private void closeGraph() {
            if (graph != null) {
                graph.recording().close();
                graph = null;
            }
        }

        /** As {@link #forward}, but with logits for every new token: {@code [total tokens × vocab]}. */
        public float[] forwardAll(List<int[]> tokens, List<Cache> caches) {
            return DeviceQwen3.this.forward(scratch, tokens, caches, true);
        }

        /** Device memory is plentiful and a device copy is fast: the prefix is copied, not shared. */
        @Override
        public Cache newCache(int capacity, Cache prefix, int prefixLength) {
            DeviceKvCache cache = new DeviceKvCache(device, config, capacity);
            cache.copyPrefixFrom(device, cache(prefix), prefixLength);
            return cache;
        }

        @Override
        public void close() {
            closeGraph();
            scratch.close();
        }
    }

    /** A recorded decode step and what it was recorded for. */
    private record DecodeGraph(DeviceGraph recording, List<Cache> caches, long scratchGeneration) {
        boolean serves(List<Cache> now, long generation) {
            return recording.isValid() && generation == scratchGeneration && now.equals(caches);
        }
    }

    private static boolean isDecode(List<int[]> tokens) {
        for (int[] t : tokens) {
            if (t.length != 1) {
                return false;
            }
        }
        return !tokens.isEmpty();
    }

    /**
     * Records the launches of a decode step whose ids and positions are on the device (replays
     * read them from there). Returns null if the step needs memory first (an
     * IllegalStateException from the device), or, for good, if the device cannot record: the
     * step then runs directly.
     */
    private DecodeGraph record(DeviceScratch scratch, Step step, List<Cache> caches) {
        RecordingDevice recorder = (RecordingDevice) device;
        long generation = scratch.generation();
        try {
            recorder.beginRecording();
        } catch (RuntimeException e) {
            giveUpGraphs(e);
            return null;
        }
        DeviceGraph recording;
        try {
            enqueue(scratch, step, caches, false);
        } catch (RuntimeException e) {
            try {
                recorder.endRecording().close();
            } catch (RuntimeException ignored) {
                // the recording is broken either way; the first failure says why
            }
            if (!(e instanceof IllegalStateException)) {
                giveUpGraphs(e);
            }
            return null;  // a buffer had to grow: run directly, record next time
        }
        try {
            recording = recorder.endRecording();
        } catch (RuntimeException e) {
            giveUpGraphs(e);
            return null;
        }
        if (scratch.generation() != generation) {  // defensive: allocating while recording fails above
            recording.close();
            return null;
        }
        return new DecodeGraph(recording, List.copyOf(caches), generation);
    }

    private void giveUpGraphs(RuntimeException e) {
        graphsUsable = false;
        System.err.println("reflectrm-j: recording decode steps failed (" + e.getMessage()
                + "); launching kernels one by one from now on");
    }

    private static DeviceKvCache cache(Cache c) {
        if (!(c instanceof DeviceKvCache d)) {
            throw new IllegalArgumentException("cache " + c + " was not made by a device model");
        }
        return d;
    }

    /** Validated token counts of one forward, with the ids and positions already on the device. */
    private record Step(int batch, int[] starts, int total, DeviceBuffer ints) {
    }

    private float[] forward(DeviceScratch scratch, List<int[]> tokens, List<Cache> caches, boolean allPositions) {
        Step step = prepare(scratch, tokens, caches);
        int outRows = enqueue(scratch, step, caches, allPositions);
        return finish(scratch, step, caches, outRows);
    }

    private Step prepare(DeviceScratch scratch, List<int[]> tokens, List<Cache> caches) {
        if (tokens.size() != caches.size()) {
            throw new IllegalArgumentException(tokens.size() + " sequences but " + caches.size() + " caches");
        }
        int batch = tokens.size();
        int[] starts = new int[batch + 1];
        for (int s = 0; s < batch; s++) {
            int n = tokens.get(s).length;
            if (n == 0) {
                throw new IllegalArgumentException("sequence " + s + " has no tokens");
            }
            Cache c = caches.get(s);
            if (c.length() + n > c.capacity()) {
                throw new BadInputException("sequence " + s + " needs " + (c.length() + n)
                        + " positions but its KV cache holds " + c.capacity());
            }
            starts[s + 1] = starts[s] + n;
        }
        int total = starts[batch];
        return new Step(batch, starts, total, uploadIdsAndPositions(scratch, tokens, caches, total));
    }

    /** Queues the whole forward up to the logits; returns how many logit rows it computes. */
    private int enqueue(DeviceScratch scratch, Step step, List<Cache> caches, boolean allPositions) {
        int batch = step.batch(), total = step.total();
        int[] starts = step.starts();
        DeviceBuffer ints = step.ints();
        int hidden = config.hiddenSize(), qDim = config.qDim(), kvDim = config.kvDim();
        int qkvDim = qDim + 2 * kvDim, inter = config.intermediateSize();
        DeviceBuffer h = scratch.get("h", 4L * total * hidden);
        DeviceBuffer qkv = scratch.get("qkv", 4L * total * qkvDim);
        DeviceBuffer q = scratch.get("q", 4L * total * qDim);
        DeviceBuffer attn = scratch.get("attn", 4L * total * qDim);
        DeviceBuffer mlp = scratch.get("mlp", 4L * total * inter);

        DeviceWeights.Weight embed = weights.embedTokens;
        device.embedding(embed.buffer(), 0, embed.type(), hidden, ints, 0, total, h, 0);
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            DeviceWeights.Layer w = weights.layers.get(layer);
            device.rmsNormLinear(h, 0, w.inputNorm().buffer(), 0, w.inputNorm().type(), eps,
                    w.qkv().buffer(), 0, w.qkv().type(), qkv, 0, total, qkvDim, hidden);
            for (int s = 0; s < batch; s++) {
                attend(layer, w, cache(caches.get(s)), starts[s], starts[s + 1] - starts[s], total, ints, qkv, q, attn);
            }
            device.linear(attn, 0, w.oProj().buffer(), 0, w.oProj().type(), h, 0, total, hidden, qDim, true);
            device.rmsNormGateUpSwiglu(h, 0, w.postNorm().buffer(), 0, w.postNorm().type(), eps,
                    w.gateUp().buffer(), 0, w.gateUp().type(), mlp, 0, total, inter, hidden);
            device.linear(mlp, 0, w.downProj().buffer(), 0, w.downProj().type(), h, 0, total, hidden, inter, true);
        }

        DeviceBuffer rows = h;
        int outRows = total;
        if (!allPositions && total != batch) {
            rows = scratch.get("last", 4L * batch * hidden);
            for (int s = 0; s < batch; s++) {
                device.copy(h, (long) (starts[s + 1] - 1) * hidden, rows, (long) s * hidden, hidden);
            }
            outRows = batch;
        }
        int vocab = config.vocabSize();
        DeviceBuffer logits = scratch.get("logits", 4L * outRows * vocab);
        device.rmsNormLinear(rows, 0, weights.finalNorm.buffer(), 0, weights.finalNorm.type(), eps,
                weights.lmHead.buffer(), 0, weights.lmHead.type(), logits, 0, outRows, vocab, hidden);
        return outRows;
    }

    /** Advances the caches past the step's tokens and brings the logits back. */
    private float[] finish(DeviceScratch scratch, Step step, List<Cache> caches, int outRows) {
        for (int s = 0; s < step.batch(); s++) {
            cache(caches.get(s)).advance(step.starts()[s + 1] - step.starts()[s]);
        }
        DeviceBuffer logits = scratch.get("logits", 4L * outRows * config.vocabSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4L * outRows * config.vocabSize(), 64);
            device.download(logits, 0, host);
            return host.toArray(JAVA_FLOAT);
        }
    }

    /** One sequence's share of a layer: split q/k/v into q and the cache, then attend. */
    private void attend(int layer, DeviceWeights.Layer w, DeviceKvCache cache, int from, int rows, int total,
                        DeviceBuffer ints, DeviceBuffer qkv, DeviceBuffer q, DeviceBuffer attn) {
        int heads = config.numAttentionHeads(), kvHeads = config.numKeyValueHeads(), d = config.headDim();
        int qDim = heads * d, qkvDim = qDim + 2 * kvHeads * d;
        int start = cache.length();
        AttentionShape shape = new AttentionShape(rows, start, heads, kvHeads, d, attentionScale);
        if (device instanceof RecordingDevice recorder) {
            // Slots and visible keys come from the positions on the device, so that a recorded
            // step replays right as the caches grow (the same kernels run when not recording).
            recorder.splitQkvAtPositions(qkv, (long) from * qkvDim, rows, heads, kvHeads, d,
                    w.qNorm().buffer(), 0, w.kNorm().buffer(), 0, w.qNorm().type(), eps, ints, total + from, theta,
                    q, (long) from * qDim, cache.buffer(), cache.keys(layer, 0), cache.buffer(), cache.values(layer, 0),
                    cache.capacity());
            recorder.attentionAtPositions(q, (long) from * qDim, cache.buffer(), cache.keys(layer, 0), cache.buffer(),
                    cache.values(layer, 0), attn, (long) from * qDim, shape, ints, total + from, cache.capacity());
            return;
        }
        device.splitQkv(qkv, (long) from * qkvDim, rows, heads, kvHeads, d,
                w.qNorm().buffer(), 0, w.kNorm().buffer(), 0, w.qNorm().type(), eps,
                ints, total + from, theta,
                q, (long) from * qDim, cache.buffer(), cache.keys(layer, start), cache.buffer(), cache.values(layer, start));
        device.attention(q, (long) from * qDim, cache.buffer(), cache.keys(layer, 0), cache.buffer(), cache.values(layer, 0),
                attn, (long) from * qDim, shape);
    }

    /** Token ids (checked against the vocabulary), then positions, in one upload. */
    private DeviceBuffer uploadIdsAndPositions(DeviceScratch scratch, List<int[]> tokens, List<Cache> caches, int total) {
        DeviceBuffer ints = scratch.get("ints", 8L * total);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(8L * total, 64);
            for (int s = 0, row = 0; s < tokens.size(); s++) {
                int[] seq = tokens.get(s);
                int start = caches.get(s).length();
                for (int t = 0; t < seq.length; t++, row++) {
                    if (seq[t] < 0 || seq[t] >= config.vocabSize()) {
                        throw new BadInputException("token id " + seq[t] + " at position " + t + " of sequence " + s
                                + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                    }
                    host.setAtIndex(JAVA_INT, row, seq[t]);
                    host.setAtIndex(JAVA_INT, total + row, start + t);
                }
            }
            device.upload(host, ints, 0);
        }
        return ints;
    }

    @Override
    public void close() {
        device.synchronize();
        weights.close();
    }
}
