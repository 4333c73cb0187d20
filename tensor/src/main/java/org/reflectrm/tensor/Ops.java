package org.reflectrm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.AttentionCall;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * The tensor operations a model is written in. Each op checks shapes, allocates its F32 result
 * from the allocator and runs one backend kernel. Models call these and nothing lower, so the
 * same model code serves inference and training: given a {@link Tape} that is recording, an op
 * whose inputs need gradients returns a tracked result and records its backward on the tape.
 * Without a tape nothing is recorded and inference pays nothing.
 *
 * <p>The kernels are the {@link Device}'s whose memory the allocator hands out: the CPU's through
 * a {@link org.reflectrm.kernels.device.HostDevice} (mapped weights and scratch wrapped, never
 * copied), or a GPU's. Every tensor an op touches must live on that device. Small host arrays
 * an op takes (token ids, positions, targets) are uploaded into the allocator's memory per call.
 */
public final class Ops {
    private final Device device;
    private final Allocator allocator;
    private final Tape tape;

    /** Inference ops: nothing is recorded. */
    public Ops(Allocator allocator) {
        this(allocator, null);
    }

    /** Ops that record backward steps on {@code tape} (which may be null). */
    public Ops(Allocator allocator, Tape tape) {
        this.device = allocator.device();
        this.allocator = allocator;
        this.tape = tape;
    }

    /** The device the ops run on. */
    public Device device() {
        return device;
    }

    /** The tape ops record on, or null for inference ops. */
    public Tape tape() {
        return tape;
    }

    /** Whether ops on tensors needing gradients record right now. */
    public boolean recording() {
        return tape != null && tape.recording();
    }

    /** A position in the allocator; see {@link #release}. */
    public long mark() {
        return allocator.mark();
    }

    /**
     * Lets the allocator reuse what was allocated since {@code mark}, where it can (inference
     * scratch); tensors allocated after the mark must not be used afterwards.
     */
    public void release(long mark) {
        allocator.release(mark);
    }

    /** A new F32 tensor of the given shape; its contents are unspecified. */
    public Tensor empty(int... shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return new Tensor(allocator.allocate(Math.max(1, n) * 4), 0, DType.F32, shape);
    }

    /** Int32 values in the device's memory, for the kernels that take ids, positions or targets. */
    private DeviceBuffer ints(int[] values) {
        return uploaded(MemorySegment.ofArray(values));
    }

    /** Int32 values (token ids, positions) as a new tensor in the device's memory: one upload. */
    public Tensor intTensor(int[] values) {
        return new Tensor(ints(values), 0, DType.I32, values.length);
    }

    /** F32 values in the device's memory (cross-entropy's row weights). */
    private DeviceBuffer floats(float[] values) {
        return uploaded(MemorySegment.ofArray(values));
    }

    /** A copy of small host values in scratch: on the host a copy, on a GPU an upload. */
    private DeviceBuffer uploaded(MemorySegment values) {
        DeviceBuffer b = allocator.allocate(Math.max(4, values.byteSize()));
        if (values.byteSize() > 0) {
            b.write(values, 0);
        }
        return b;
    }

    /** A new F32 tensor of zeros. */
    public Tensor zeros(int... shape) {
        Tensor t = empty(shape);
        device.zero(t.buffer(), t.offset(), t.numel());
        return t;
    }

    /** A new F32 tensor holding {@code values} with the given shape. */
    public Tensor fromArray(float[] values, int... shape) {
        Tensor t = empty(shape);
        if (t.numel() != values.length) {
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        t.write(MemorySegment.ofArray(values));
        return t;
    }

    /** Rows of an embedding table {@code [vocab, dim]}: result {@code [ids.length, dim]}. */
    public Tensor embedding(Tensor table, int[] ids) {
        requireRank(table, 2, "embedding table");
        int vocab = table.dim(0);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        int dim = table.dim(1);
        Tensor out = empty(ids.length, dim);
        device.embedding(table.buffer(), table.offset(), table.dtype(), dim, ints(ids), 0, ids.length,
                out.buffer(), out.offset());
        int[] saved = ids.clone();
        return recorded(out, dy -> {
            Tensor dTable = tape.gradOf(table);
            device.embeddingBackward(ints(saved), 0, saved.length, dy.buffer(), dy.offset(), dim,
                    dTable.buffer(), dTable.offset());
        }, table);
    }

    /** A linear layer with HF weight layout: {@code x[.., in] · w[out, in]ᵀ → [.., out]}. */
    public Tensor linear(Tensor x, Tensor w) {
        requireF32(x, "linear input");
        requireRank(w, 2, "linear weight");
        int in = w.dim(1);
        int out = w.dim(0);
        if (x.dim(-1) != in) {
            throw new IllegalArgumentException("linear: input " + Arrays.toString(x.shape()) + " does not match weight " + Arrays.toString(w.shape()));
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = empty(shape);
        int rows = x.rows();
        device.linear(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(),
                y.buffer(), y.offset(), rows, out, in, false);
        return recorded(y, dy -> {
            linearBackward(dy, x, w, rows, in, out);
        }, x, w);
    }

    /** The gradients of {@code y = x · wᵀ} from {@code dy}, added into those of x and w that need one. */
    private void linearBackward(Tensor dy, Tensor x, Tensor w, int rows, int in, int out) {
        Tensor dx = tape.gradOf(x);
        if (dx != null) {                                         // dx[rows, in] += dy[rows, out] · w[out, in]
            device.matmul(dy.buffer(), dy.offset(), false, w.buffer(), w.offset(), w.dtype(), false,
                    dx.buffer(), dx.offset(), rows, in, out, true);
        }
        Tensor dw = tape.gradOf(w);
        if (dw != null) {                                         // dw[out, in] += dy[rows, out]ᵀ · x[rows, in]
            device.matmul(dy.buffer(), dy.offset(), true, x.buffer(), x.offset(), DType.F32, false,
                    dw.buffer(), dw.offset(), out, in, rows, true);
        }
    }

    /** RMSNorm over the last axis with weight {@code w[lastDim]}. */
    public Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        requireF32(x, "rmsNorm input");
        int dim = x.dim(-1);
        if (w.numel() != dim) {
            throw new IllegalArgumentException("rmsNorm: weight " + Arrays.toString(w.shape()) + " for last axis " + dim);
        }
        Tensor y = empty(x.shape());
        int rows = x.rows();
        device.rmsNorm(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(), y.buffer(), y.offset(), rows, dim, eps);
        return recorded(y, dy -> {
            Tensor dx = tape.gradOf(x);
            Tensor dw = tape.gradOf(w);
            if (dx == null) {
                dx = zeros(x.shape());                            // the kernel always writes dx
            }
            device.rmsNormBackward(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(),
                    dy.buffer(), dy.offset(), dx.buffer(), dx.offset(),
                    dw == null ? null : dw.buffer(), dw == null ? 0 : dw.offset(), rows, dim, eps);
        }, x, w);
    }

    /** Rotate-half RoPE on {@code x[tokens, heads, headDim]}, returning a new tensor. */
    public Tensor rope(Tensor x, int[] positions, float theta) {
        requireRank(x, 3, "rope input");
        if (positions.length != x.dim(0)) {
            throw new IllegalArgumentException("rope: " + positions.length + " positions for " + x.dim(0) + " tokens");
        }
        Tensor y = empty(x.shape());
        device.copy(x.buffer(), x.offset(), y.buffer(), y.offset(), x.numel());
        device.rope(y.buffer(), y.offset(), x.dim(0), x.dim(1), x.dim(2), ints(positions), 0, theta);
        int[] saved = positions.clone();
        return recorded(y, dy -> {
            // a rotation: dx = R(-θ) dy
            Tensor rotated = empty(x.shape());
            device.copy(dy.buffer(), dy.offset(), rotated.buffer(), rotated.offset(), x.numel());
            device.ropeInverse(rotated.buffer(), rotated.offset(), x.dim(0), x.dim(1), x.dim(2), ints(saved), 0, theta);
            accumulate(rotated, tape.gradOf(x));
        }, x);
    }

    /** {@code silu(gate) * up}. */
    public Tensor swiglu(Tensor gate, Tensor up) {
        requireSameShape(gate, up, "swiglu");
        Tensor out = empty(gate.shape());
        device.swiglu(gate.buffer(), gate.offset(), up.buffer(), up.offset(), out.buffer(), out.offset(), gate.numel());
        return recorded(out, dy -> {
            Tensor dGate = orScratch(tape.gradOf(gate), gate);
            Tensor dUp = orScratch(tape.gradOf(up), up);
            device.swigluBackward(gate.buffer(), gate.offset(), up.buffer(), up.offset(), dy.buffer(), dy.offset(),
                    dGate.buffer(), dGate.offset(), dUp.buffer(), dUp.offset(), gate.numel());
        }, gate, up);
    }

    public Tensor add(Tensor a, Tensor b) {
        requireSameShape(a, b, "add");
        Tensor out = empty(a.shape());
        device.add(a.buffer(), a.offset(), b.buffer(), b.offset(), out.buffer(), out.offset(), a.numel());
        return recorded(out, dy -> {
            accumulate(dy, tape.gradOf(a));
            accumulate(dy, tape.gradOf(b));
        }, a, b);
    }

    /** {@code x * s} for a constant s. */
    public Tensor scale(Tensor x, float s) {
        requireF32(x, "scale");
        Tensor out = empty(x.shape());
        device.scale(x.buffer(), x.offset(), s, out.buffer(), out.offset(), x.numel());
        return recorded(out, dy -> {
            Tensor scaled = empty(x.shape());
            device.scale(dy.buffer(), dy.offset(), s, scaled.buffer(), scaled.offset(), x.numel());
            accumulate(scaled, tape.gradOf(x));
        }, x);
    }

    public Tensor copy(Tensor x) {
        requireF32(x, "copy");
        Tensor out = empty(x.shape());
        device.copy(x.buffer(), x.offset(), out.buffer(), out.offset(), x.numel());
        return recorded(out, dy -> {
            accumulate(dy, tape.gradOf(x));
        }, x);
    }

    /** Stacks tensors with equal trailing shape along the first axis. */
    public Tensor concatRows(List<Tensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("concatRows of nothing");
        }
        int[] shape = parts.get(0).shape();
        int rows = 0;
        for (Tensor p : parts) {
            requireF32(p, "concatRows part");
            int[] s = p.shape();
            s[0] = shape[0];
            if (!Arrays.equals(s, shape)) {
                throw new IllegalArgumentException("concatRows: " + p + " does not match " + parts.get(0));
            }
            rows += p.dim(0);
        }
        shape[0] = rows;
        Tensor out = empty(shape);
        for (int i = 0, row = 0; i < parts.size(); row += parts.get(i).dim(0), i++) {
            Tensor dst = out.rows(row, row + parts.get(i).dim(0));
            device.copy(parts.get(i).buffer(), parts.get(i).offset(), dst.buffer(), dst.offset(), dst.numel());
        }
        List<Tensor> saved = List.copyOf(parts);
        return recorded(out, dy -> {
            for (int i = 0, row = 0; i < saved.size(); row += saved.get(i).dim(0), i++) {
                accumulate(dy.rows(row, row + saved.get(i).dim(0)), tape.gradOf(saved.get(i)));
            }
        }, parts.toArray(Tensor[]::new));
    }

    /**
     * A linear layer with a LoRA term, fused: {@code y = x·wᵀ + scale · (xa·aᵀ)·bᵀ} where
     * {@code xa} is the adapter's input (x, or x after dropout), {@code a[r, in]} and
     * {@code b[out, r]}. Composed from separate ops this would keep three extra {@code [.., out]}
     * activations per layer (the adapter's output, its scaled copy and the sum) and their
     * gradients; fused, only the rank-r intermediate is kept.
     */
    public Tensor loraLinear(Tensor x, Tensor w, Tensor xa, Tensor a, Tensor b, float scale) {
        requireF32(x, "loraLinear input");
        requireSameShape(x, xa, "loraLinear inputs");
        int in = w.dim(1), out = w.dim(0), rank = a.dim(0);
        if (x.dim(-1) != in || a.dim(1) != in || b.dim(0) != out || b.dim(1) != rank) {
            throw new IllegalArgumentException("loraLinear: x " + x + ", w " + w + ", a " + a + ", b " + b + " do not fit");
        }
        int rows = x.rows();
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = empty(shape);
        device.linear(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(),
                y.buffer(), y.offset(), rows, out, in, false);
        Tensor low = empty(rows, rank);                                           // scale · xa·aᵀ
        device.linear(xa.buffer(), xa.offset(), a.buffer(), a.offset(), a.dtype(),
                low.buffer(), low.offset(), rows, rank, in, false);
        device.scale(low.buffer(), low.offset(), scale, low.buffer(), low.offset(), low.numel());
        device.linear(low.buffer(), low.offset(), b.buffer(), b.offset(), b.dtype(),
                y.buffer(), y.offset(), rows, out, rank, true);
        return recorded(y, dy -> {
            linearBackward(dy, x, w, rows, in, out);
            Tensor db = tape.gradOf(b);
            if (db != null) {                                     // db[out, r] += dyᵀ · low
                device.matmul(dy.buffer(), dy.offset(), true, low.buffer(), low.offset(), DType.F32, false,
                        db.buffer(), db.offset(), out, rank, rows, true);
            }
            Tensor dLow = empty(rows, rank);                      // d(xa·aᵀ) = scale · dy · b
            device.matmul(dy.buffer(), dy.offset(), false, b.buffer(), b.offset(), b.dtype(), false,
                    dLow.buffer(), dLow.offset(), rows, rank, out, false);
            device.scale(dLow.buffer(), dLow.offset(), scale, dLow.buffer(), dLow.offset(), dLow.numel());
            Tensor da = tape.gradOf(a);
            if (da != null) {                                     // da[r, in] += dLowᵀ · xa
                device.matmul(dLow.buffer(), dLow.offset(), true, xa.buffer(), xa.offset(), DType.F32, false,
                        da.buffer(), da.offset(), rank, in, rows, true);
            }
            Tensor dxa = tape.gradOf(xa);
            if (dxa != null) {                                    // dxa += dLow · a
                device.matmul(dLow.buffer(), dLow.offset(), false, a.buffer(), a.offset(), a.dtype(), false,
                        dxa.buffer(), dxa.offset(), rows, in, rank, true);
            }
        }, x, w, xa, a, b);
    }

    /**
     * Activation checkpointing: runs {@code block} on {@code input} without keeping its
     * activations, and in backward runs it again, recording, to get its gradient. Saves the
     * memory of the block's insides for the cost of a second forward. The block maps its input
     * to a tensor of the same shape (a residual layer) and must be a pure function of its input
     * and weights (the same dropout masks on both runs).
     */
    public Tensor checkpoint(Tensor input, BiFunction<Ops, Tensor, Tensor> block) {
        if (!recording()) {
            return block.apply(this, input);
        }
        // The output goes below the mark so that releasing the block's scratch keeps it.
        Tensor out = empty(input.shape());
        long mark = mark();
        try (Tape.NoGrad off = tape.noGrad()) {
            Tensor y = block.apply(this, input.detach());
            requireSameShape(y, out, "checkpointed block output");
            device.copy(y.buffer(), y.offset(), out.buffer(), out.offset(), out.numel());
        } finally {
            release(mark);
        }
        // Weights inside the block may need gradients even when the input does not: always track.
        Tensor result = out.tracked();
        tape.record(() -> {
            Tensor dy = tape.incoming(result);
            if (dy == null) {
                return;
            }
            Tensor inputGrad = tape.gradOf(input);                // allocated before the mark: it outlives the block
            long m = mark();
            Tape inner = new Tape(allocator);
            Tensor leaf = inputGrad == null ? input.detach() : Tensor.parameter(input.detach(), inputGrad);
            Tensor y = block.apply(new Ops(allocator, inner), leaf);
            if (y.requiresGrad()) {
                inner.backward(y, dy);
            }
            inner.clear();
            release(m);
        });
        return result;
    }

    /** Row-wise softmax over the last axis (inference only: it has no backward). */
    public Tensor softmax(Tensor x) {
        if (tracks(x)) {
            throw new UnsupportedOperationException("softmax has no backward; use crossEntropy for losses");
        }
        Tensor out = copy(x);
        device.softmax(out.buffer(), out.offset(), x.rows(), x.dim(-1));
        return out;
    }

    /**
     * One sequence of {@link #attention(Tensor, List, float)}: its query rows attend to positions
     * {@code 0 .. startPos + t} of a cache whose first {@code prefixLength} positions are in
     * {@code prefixK, prefixV} (null and 0 for none) and the rest in {@code k, v}, which hold
     * position {@code prefixLength} at row 0. The caches are F32 or BF16, all four alike.
     */
    public record CachedSequence(int tokens, Tensor prefixK, Tensor prefixV, int prefixLength, Tensor k, Tensor v,
                                 int startPos) {
    }

    /**
     * Causal GQA attention of a batch of sequences, each against its own KV cache:
     * {@code q[Σ tokens, heads, headDim]} holds the sequences' query rows one after another, and
     * the result does too. Each sequence gets what its own call to the device's one-sequence
     * attention would give, bit for bit; the host computes them all in one parallel loop.
     * Inference only; training uses {@link #selfAttention}.
     */
    public Tensor attention(Tensor q, List<CachedSequence> sequences, float scale) {
        requireRank(q, 3, "attention query");
        requireF32(q, "attention query");
        if (tracks(q)) {
            throw new UnsupportedOperationException("attention against a KV cache has no backward; use selfAttention");
        }
        Tensor out = empty(q.shape());
        device.attention(attentionCalls(q, sequences, scale, out));
        return out;
    }

    /**
     * The device calls of {@link #attention(Tensor, List, float)}, each sequence's rows of q and
     * of {@code out} with its caches, after checking that the sequences fit their caches and
     * together cover q's rows.
     */
    List<AttentionCall> attentionCalls(Tensor q, List<CachedSequence> sequences, float scale, Tensor out) {
        requireRank(q, 3, "attention query");
        requireF32(q, "attention query");
        requireSameShape(q, out, "attention");
        List<AttentionCall> calls = new ArrayList<>(sequences.size());
        int row = 0;
        long rowSize = (long) q.dim(1) * q.dim(2);
        for (CachedSequence s : sequences) {
            requireRank(s.k(), 3, "key cache");
            DType kvType = s.k().dtype();
            boolean shared = s.prefixLength() > 0;
            if (kvType != DType.F32 && kvType != DType.BF16 || s.v().dtype() != kvType
                    || shared && (s.prefixK().dtype() != kvType || s.prefixV().dtype() != kvType)) {
                throw new IllegalArgumentException("attention: KV caches must all be F32 or all BF16, got keys "
                        + kvType + " and values " + s.v().dtype());
            }
            if (shared && s.prefixLength() > s.prefixK().dim(0) || s.startPos() < s.prefixLength()
                    || s.startPos() - s.prefixLength() + s.tokens() > s.k().dim(0)) {
                throw new IllegalArgumentException("attention: positions " + s.startPos() + " .. "
                        + (s.startPos() + s.tokens() - 1) + " after a shared prefix of " + s.prefixLength()
                        + " do not fit an own cache of " + s.k().dim(0));
            }
            if (row + s.tokens() > q.dim(0)) {
                throw new IllegalArgumentException("attention: the sequences have more rows than the " + q.dim(0)
                        + " queries");
            }
            AttentionShape shape = new AttentionShape(s.tokens(), s.startPos(), q.dim(1), s.k().dim(1), q.dim(2), scale);
            long at = row * rowSize;
            calls.add(new AttentionCall(q.buffer(), q.offset() + at,
                    shared ? s.prefixK().buffer() : null, shared ? s.prefixK().offset() : 0,
                    shared ? s.prefixV().buffer() : null, shared ? s.prefixV().offset() : 0, s.prefixLength(),
                    s.k().buffer(), s.k().offset(), s.v().buffer(), s.v().offset(), kvType,
                    out.buffer(), out.offset() + at, shape));
            row += s.tokens();
        }
        if (row != q.dim(0)) {
            throw new IllegalArgumentException("attention: the sequences have " + row + " rows, the queries " + q.dim(0));
        }
        return calls;
    }

    /**
     * Causal GQA attention of one sequence to itself: {@code q[tokens, heads, headDim]},
     * {@code k, v[tokens, kvHeads, headDim]}. The backward recomputes the probabilities, so
     * memory stays linear in the sequence length.
     */
    public Tensor selfAttention(Tensor q, Tensor k, Tensor v, float scale) {
        requireRank(q, 3, "attention query");
        requireRank(k, 3, "attention keys");
        requireSameShape(k, v, "attention keys/values");
        int tokens = q.dim(0);
        if (k.dim(0) != tokens || k.dim(2) != q.dim(2) || q.dim(1) % k.dim(1) != 0) {
            throw new IllegalArgumentException("selfAttention: q " + q + " and k " + k + " do not fit");
        }
        AttentionShape shape = new AttentionShape(tokens, 0, q.dim(1), k.dim(1), q.dim(2), scale);
        Tensor out = empty(q.shape());
        device.attention(q.buffer(), q.offset(), k.buffer(), k.offset(), v.buffer(), v.offset(),
                out.buffer(), out.offset(), shape);
        return recorded(out, dy -> {
            Tensor dq = orScratch(tape.gradOf(q), q);
            Tensor dk = orScratch(tape.gradOf(k), k);
            Tensor dv = orScratch(tape.gradOf(v), v);
            device.attentionBackward(q.buffer(), q.offset(), k.buffer(), k.offset(), v.buffer(), v.offset(),
                    out.buffer(), out.offset(), dy.buffer(), dy.offset(),
                    dq.buffer(), dq.offset(), dk.buffer(), dk.offset(), dv.buffer(), dv.offset(), shape);
        }, q, k, v);
    }

    /**
     * Inverted dropout while training: each element is zeroed with probability {@code p} and
     * the rest scaled by {@code 1/(1-p)}. The mask is a pure function of {@code seed} and the
     * element index (a counter-based generator), so the backward regenerates it instead of
     * storing it, and a resumed run draws the same masks. Outside recording it is the identity.
     * A plain Java loop: dropout is off by default and cheap next to the matmuls around it.
     */
    public Tensor dropout(Tensor x, float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability " + p + " is not in [0, 1)");
        }
        // Training is when the tape records, whether or not this input needs a gradient.
        if (p == 0f || !recording()) {
            return x;
        }
        Tensor out = applyDropout(x, p, seed);
        return recorded(out, dy -> {
            accumulate(applyDropout(dy, p, seed), tape.gradOf(x));
        }, x);
    }

    private Tensor applyDropout(Tensor x, float p, long seed) {
        float keepScale = 1f / (1f - p);
        double threshold = p;
        float[] v = x.toFloatArray();                  // on a GPU a download and an upload: dropout is rare
        for (int i = 0; i < v.length; i++) {
            boolean drop = (splitMix64(seed + i) >>> 11) * 0x1.0p-53 < threshold;
            v[i] = drop ? 0f : v[i] * keepScale;
        }
        return fromArray(v, x.shape());
    }

    private static long splitMix64(long z) {
        z = (z + 0x9E3779B97F4A7C15L) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Logit elements computed at once by {@link #crossEntropy}: bounds its scratch to 256 MB. Each
     * chunk re-reads the whole output weight, so chunks of a few hundred rows (a 152k vocabulary)
     * keep that traffic small next to the products themselves.
     */
    private static final long CE_CHUNK_ELEMENTS = 64L << 20;

    /**
     * The language-model loss fused with the output layer: {@code Σ_r weights[r] · CE(h[r] · wᵀ,
     * targets[r])} for {@code h[rows, hidden]} and {@code w[vocab, hidden]}, as a one-element
     * tensor. Only rows with a nonzero weight are computed, a few at a time, so the {@code [rows,
     * vocab]} logits never exist at once. Because the loss is the root of the graph, its gradient
     * is known up to the upstream scalar during the forward: it is computed there, chunk by chunk,
     * and the backward only scales it.
     */
    public Tensor crossEntropy(Tensor h, Tensor w, int[] targets, float[] weights) {
        boolean[] counted = new boolean[weights.length];
        for (int r = 0; r < weights.length; r++) {
            counted[r] = weights[r] != 0;
        }
        return fusedOutputLoss(h, w, targets, counted, (logits, rows, n, vocab, t) -> {
            float[] wt = new float[n];
            for (int i = 0; i < n; i++) {
                wt[i] = weights[rows[i]];
            }
            float[] losses = chunkCrossEntropy(logits, n, vocab, t, wt);      // logits := dlogits
            double loss = 0;
            for (int i = 0; i < n; i++) {
                loss += wt[i] * losses[i];
            }
            return loss;
        });
    }

    /** What a token objective says of one row: its loss and the loss's derivative by the row's target log-probability. */
    public record TokenTerm(double loss, double slope) {
    }

    /** A per-row loss as a function of the row's target log-probability (see {@link #tokenObjective}). */
    @FunctionalInterface
    public interface TokenObjective {
        TokenTerm at(int row, double logprob);
    }

    /**
     * A loss that depends on each counted row only through the log-probability of its target,
     * {@code logp[r] = log softmax(logitScale · h[r] · wᵀ)[targets[r]]}: {@code Σ_r term(r,
     * logp[r]).loss}. The term also gives {@code d loss / d logp[r]}, so the objective can be any
     * function of the log-probabilities (policy-gradient losses with clipped ratios and KL
     * penalties) and still costs one pass, fused with the output layer as {@link #crossEntropy}
     * is. {@code logitScale} is 1/temperature for losses over tempered distributions. With
     * nothing recorded, this computes log-probabilities alone (the term sees each one).
     */
    public Tensor tokenObjective(Tensor h, Tensor w, int[] targets, boolean[] counted, float logitScale,
                                 TokenObjective term) {
        if (!(logitScale > 0) || Float.isInfinite(logitScale)) {
            throw new IllegalArgumentException("tokenObjective: logit scale " + logitScale);
        }
        return fusedOutputLoss(h, w, targets, counted, (logits, rows, n, vocab, t) -> {
            if (logitScale != 1f) {
                device.scale(logits.buffer(), logits.offset(), logitScale, logits.buffer(), logits.offset(), (long) n * vocab);
            }
            float[] ones = new float[n];
            Arrays.fill(ones, 1f);
            float[] ce = chunkCrossEntropy(logits, n, vocab, t, ones);          // logits := softmax - onehot
            double loss = 0;
            for (int i = 0; i < n; i++) {
                TokenTerm tt = term.at(rows[i], -ce[i]);
                loss += tt.loss();
                // d logp / d logits = onehot - softmax; the scaled logits chain once more through logitScale.
                float g = (float) (-tt.slope() * logitScale);
                long row = logits.offset() + (long) i * vocab;
                device.scale(logits.buffer(), row, g, logits.buffer(), row, vocab);
            }
            return loss;
        });
    }

    /**
     * Softmax cross-entropy of a chunk of logits, in place (see {@link Device#crossEntropy}): the
     * rows' losses come back to the host, where the objective weighs them.
     */
    private float[] chunkCrossEntropy(Tensor logits, int n, int vocab, int[] targets, float[] weights) {
        DeviceBuffer losses = allocator.allocate(4L * n);
        device.crossEntropy(logits.buffer(), logits.offset(), n, vocab, ints(targets), 0, floats(weights), 0, losses, 0);
        return new Tensor(losses, 0, DType.F32, n).toFloatArray();
    }

    /** Turns a chunk of logits into the loss's gradient by them, in place, and returns the chunk's loss. */
    @FunctionalInterface
    private interface ChunkLoss {
        double apply(Tensor logits, int[] rows, int n, int vocab, int[] targets);
    }

    /**
     * The output layer and a per-row loss over it, fused: the counted rows of {@code h} are
     * gathered a chunk at a time, their logits made, and {@code chunkLoss} turns the logits into
     * their gradient, from which the gradients by {@code h} and {@code w} are made at once.
     */
    private Tensor fusedOutputLoss(Tensor h, Tensor w, int[] targets, boolean[] countedRows, ChunkLoss chunkLoss) {
        requireF32(h, "crossEntropy input");
        requireRank(h, 2, "crossEntropy input");
        requireRank(w, 2, "crossEntropy weight");
        int rows = h.dim(0), hidden = h.dim(1), vocab = w.dim(0);
        if (w.dim(1) != hidden || targets.length != rows || countedRows.length != rows) {
            throw new IllegalArgumentException("crossEntropy: h " + h + ", w " + w + ", " + targets.length + " targets, "
                    + countedRows.length + " weights");
        }
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            if (countedRows[r]) {
                if (targets[r] < 0 || targets[r] >= vocab) {
                    throw new IllegalArgumentException("target " + targets[r] + " of row " + r + " is outside [0, " + vocab + ")");
                }
                counted++;
            }
        }
        int[] rowOf = new int[counted];
        for (int r = 0, i = 0; r < rows; r++) {
            if (countedRows[r]) {
                rowOf[i++] = r;
            }
        }
        boolean wantH = tracks(h), wantW = tracks(w);
        Tensor dH = wantH ? zeros(Math.max(1, counted), hidden) : null;   // gradient per unit upstream
        Tensor dW = wantW ? zeros(vocab, hidden) : null;
        double loss = 0;
        int chunk = (int) Math.max(1, Math.min(counted, CE_CHUNK_ELEMENTS / vocab));
        long mark = mark();
        for (int from = 0; from < counted; from += chunk) {
            int n = Math.min(chunk, counted - from);
            Tensor x = empty(n, hidden);
            int[] t = new int[n];
            int[] chunkRows = Arrays.copyOfRange(rowOf, from, from + n);
            for (int i = 0; i < n; i++) {
                t[i] = targets[chunkRows[i]];
            }
            // Gather the counted rows, a run of consecutive rows per copy.
            for (int i = 0, end; i < n; i = end) {
                end = runEnd(rowOf, from + i, from + n) - from;
                device.copy(h.buffer(), h.offset() + (long) rowOf[from + i] * hidden,
                        x.buffer(), x.offset() + (long) i * hidden, (long) (end - i) * hidden);
            }
            Tensor logits = empty(n, vocab);
            device.linear(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(),
                    logits.buffer(), logits.offset(), n, vocab, hidden, false);
            loss += chunkLoss.apply(logits, chunkRows, n, vocab, t);                    // logits := dlogits
            if (dH != null) {                                   // dH[n, hidden] = dlogits · w
                device.matmul(logits.buffer(), logits.offset(), false, w.buffer(), w.offset(), w.dtype(), false,
                        dH.buffer(), dH.offset() + (long) from * hidden, n, hidden, vocab, false);
            }
            if (dW != null) {                                   // dW[vocab, hidden] += dlogitsᵀ · x
                device.matmul(logits.buffer(), logits.offset(), true, x.buffer(), x.offset(), DType.F32, false,
                        dW.buffer(), dW.offset(), vocab, hidden, n, true);
            }
            release(mark);
        }
        Tensor out = fromArray(new float[] {(float) loss}, 1);
        int found = counted;
        return recorded(out, dy -> {
            float g = dy.getFloat(0);
            Tensor gh = tape.gradOf(h);
            for (int i = 0, end; gh != null && i < found; i = end) {             // scatter, run by run
                end = runEnd(rowOf, i, found);
                Tensor scaled = scaledRow(dH.rows(i, end), g);
                accumulate(scaled, gh.rows(rowOf[i], rowOf[i] + end - i));
            }
            Tensor gw = tape.gradOf(w);
            if (gw != null) {
                accumulate(g == 1f ? dW : scaledRow(dW, g), gw);
            }
        }, h, w);
    }

    /** The end of the run of consecutive row numbers in {@code rowOf} that starts at {@code i} (below {@code limit}). */
    private static int runEnd(int[] rowOf, int i, int limit) {
        int end = i + 1;
        while (end < limit && rowOf[end] == rowOf[end - 1] + 1) {
            end++;
        }
        return end;
    }

    private Tensor scaledRow(Tensor x, float s) {
        if (s == 1f) {
            return x;
        }
        Tensor out = empty(x.shape());
        device.scale(x.buffer(), x.offset(), s, out.buffer(), out.offset(), x.numel());
        return out;
    }

    /**
     * Copies {@code src} into {@code dst} (same element count; src F32, dst F32 or BF16, then
     * rounded to nearest even), e.g. into a KV cache. Not differentiable.
     */
    public void copyInto(Tensor src, Tensor dst) {
        requireF32(src, "copy source");
        if (dst.dtype() != DType.BF16) {
            requireF32(dst, "copy target");
        }
        if (src.numel() != dst.numel()) {
            throw new IllegalArgumentException("copy of " + src + " into " + dst);
        }
        if (tracks(src, dst)) {
            throw new UnsupportedOperationException("copyInto overwrites memory and cannot be recorded; use copy or concatRows");
        }
        if (dst.dtype() == DType.BF16) {
            device.toBf16(src.buffer(), src.offset(), dst.buffer(), dst.offset(), src.numel());   // rounded
        } else {
            device.copy(src.buffer(), src.offset(), dst.buffer(), dst.offset(), src.numel());
        }
    }

    /**
     * Returns {@code out} as it is when none of {@code inputs} needs a gradient (or nothing
     * records); else a tracked view of it, with {@code backward} recorded to run on its
     * gradient (when one flowed in) during {@link Tape#backward}.
     */
    private Tensor recorded(Tensor out, Consumer<Tensor> backward, Tensor... inputs) {
        if (!tracks(inputs)) {
            return out;
        }
        Tensor result = out.tracked();
        tape.record(() -> {
            Tensor dy = tape.incoming(result);
            if (dy != null) {
                backward.accept(dy);
            }
        });
        return result;
    }

    /** {@code into += g}, skipped when {@code into} is null (the input needs no gradient). */
    private void accumulate(Tensor g, Tensor into) {
        if (into != null) {
            device.add(into.buffer(), into.offset(), g.buffer(), g.offset(), into.buffer(), into.offset(), g.numel());
        }
    }

    /** A kernel that writes several gradients needs a target even for inputs without one. */
    private Tensor orScratch(Tensor grad, Tensor like) {
        return grad != null ? grad : zeros(like.shape());
    }

    private boolean tracks(Tensor... inputs) {
        return tape != null && tape.tracks(inputs);
    }

    private static void requireRank(Tensor t, int rank, String what) {
        if (t.rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ", got " + Arrays.toString(t.shape()));
        }
    }

    private static void requireF32(Tensor t, String what) {
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(what + " must be F32, got " + t.dtype());
        }
    }

    private static void requireSameShape(Tensor a, Tensor b, String op) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()) + " differ");
        }
    }
}
