package org.reflectrm.kernels.device;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

/**
 * The GPU compute SPI: the kernels of a Qwen3 forward on memory that stays on the device
 * ({@link DeviceBuffer}s). Unlike {@link org.reflectrm.kernels.Backend}, whose arguments are
 * host memory, nothing here crosses the bus except {@link #upload}, {@link #download} and the
 * small int arrays the callers upload themselves (token ids, positions).
 *
 * <p>Conventions, for every kernel method:
 * <ul>
 *   <li>Kernels are queued in order on one stream/queue and may return before they finish;
 *       {@link #download} and {@link #synchronize} wait for everything queued before them.</li>
 *   <li>Activations are F32. Weight operands carry their {@link DType} (F32, F16 or BF16) and
 *       are widened inside the kernel. Ids and positions are int32.</li>
 *   <li>Offsets are in <em>elements</em> of the buffer's type at that call, not bytes.</li>
 *   <li>Matrices are row-major and contiguous. A linear layer's weight is HF's {@code W[out, in]}.</li>
 *   <li>Outputs must not overlap inputs unless a method says it works in place.</li>
 *   <li>Results match the CPU backend within float rounding (each kernel's test states its tolerance).</li>
 * </ul>
 * Training adds the other matrix-product layouts, the backward kernels and the optimizer step
 * (the second section), with the same conventions; their gradient outputs accumulate.
 */
public interface Device extends AutoCloseable {

    /** The backend's short name: {@code opencl}, {@code cuda} or {@code host}. */
    String kind();

    /** The device, for people: model, driver or platform. */
    String description();

    /** Global memory in bytes. */
    long memoryBytes();

    /** Allocates {@code bytes} of zero-filled device memory. */
    DeviceBuffer allocate(long bytes);

    /** Copies all of {@code src} to {@code dst} at byte offset {@code dstByteOffset}; src may be reused on return. */
    void upload(MemorySegment src, DeviceBuffer dst, long dstByteOffset);

    /** Copies {@code dst.byteSize()} bytes from {@code src} at byte offset {@code srcByteOffset}, after all queued work. */
    void download(DeviceBuffer src, long srcByteOffset, MemorySegment dst);

    /** Waits for all queued work. */
    void synchronize();

    /** The bytes {@link #upload} and {@link #download} have moved since the device opened. */
    Transfers.Count transfers();

    /** The memory held through {@link #allocate}, now and at the most (the device's own scratch aside). */
    Allocations allocations();

    /**
     * Whether a forward should run the fused kernels ({@link #rmsNormLinear},
     * {@link #rmsNormGateUpSwiglu}, {@link #splitQkv}, an accumulating {@link #linear}) and, on a
     * {@link RecordingDevice}, record its decode steps. On a GPU each fusion saves launches and a
     * pass over device memory. The host's fused kernels are its plain ones in sequence, so the
     * CPU forward calls those itself, in scratch it reuses.
     */
    default boolean fusesForward() {
        return true;
    }

    // ---- Kernels ----

    /**
     * {@code y[rows, out] = x[rows, in] · W[out, in]ᵀ}, or {@code y += ...} when {@code accumulate}
     * (a residual add fused into the projection).
     */
    void linear(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate);

    /** {@code y = rmsNorm(x; gamma, eps) · Wᵀ}: RMSNorm fused into the next matmul. Shapes as {@link #linear}. */
    void rmsNormLinear(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                       DeviceBuffer w, long wOff, DType wType, DeviceBuffer y, long yOff, int rows, int out, int in);

    /**
     * The MLP's first half in one launch: with {@code n = rmsNorm(x; gamma, eps)} and
     * {@code wGateUp[2·inter, in]} holding gate_proj's rows then up_proj's rows,
     * {@code out[rows, inter] = silu(n · Wgateᵀ) * (n · Wupᵀ)}.
     */
    void rmsNormGateUpSwiglu(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                             DeviceBuffer wGateUp, long wOff, DType wType, DeviceBuffer out, long outOff,
                             int rows, int inter, int in);

    /**
     * Splits the fused QKV projection of {@code rows} consecutive tokens of one sequence.
     * {@code qkv[rows, (heads + 2·kvHeads)·headDim]} holds q, then k, then v for each token.
     * Writes {@code q[rows, heads, headDim] = rope(rmsNorm(q; qNorm))},
     * {@code kCache[rows, kvHeads, headDim] = rope(rmsNorm(k; kNorm))} and
     * {@code vCache[rows, kvHeads, headDim] = v}, where kOff/vOff address the cache slot of the
     * first row. Row r is at position {@code positions[posOff + r]}; RoPE as in
     * {@link org.reflectrm.kernels.Backend#rope}.
     */
    void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                  DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType, float eps,
                  DeviceBuffer positions, long posOff, float theta,
                  DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff);

    /** {@code out[i, :] = table[ids[idsOff + i], :]} widened to F32, for {@code rows} ids; table is {@code [vocab, dim]}. */
    void embedding(DeviceBuffer table, long tableOff, DType tableType, int dim,
                   DeviceBuffer ids, long idsOff, int rows, DeviceBuffer out, long outOff);

    /** RMSNorm over the last dimension of {@code x[rows, dim]}, as {@link org.reflectrm.kernels.Backend#rmsNorm}; may run in place. */
    void rmsNorm(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                 DeviceBuffer y, long yOff, int rows, int dim, float eps);

    /** Rotate-half RoPE in place on {@code x[rows, heads, headDim]}, row r at {@code positions[posOff + r]}. */
    void rope(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
              DeviceBuffer positions, long posOff, float theta);

    /** {@code out = silu(gate) * up} over n elements. */
    void swiglu(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff, DeviceBuffer out, long outOff, long n);

    /** {@code out = a + b} over n elements; out may alias a or b. */
    void add(DeviceBuffer a, long aOff, DeviceBuffer b, long bOff, DeviceBuffer out, long outOff, long n);

    /** Copies n F32 elements. */
    void copy(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n);

    /** {@code out = a · s} over n F32 elements; out may alias a. */
    void scale(DeviceBuffer a, long aOff, float s, DeviceBuffer out, long outOff, long n);

    /** Sets n F32 elements to zero. */
    void zero(DeviceBuffer x, long xOff, long n);

    /** Row-wise softmax in place on {@code x[rows, cols]}. */
    void softmax(DeviceBuffer x, long xOff, int rows, int cols);

    /**
     * Attention of many sequences against their own caches (a batch's decode step), each as its
     * own {@link #attention} call would compute it. The host runs them in one parallel loop; this
     * default runs them one by one, and refuses a cache that is not F32.
     */
    default void attention(List<AttentionCall> calls) {
        for (AttentionCall c : calls) {
            if (c.kvType() != DType.F32) {
                throw new UnsupportedOperationException("a " + c.kvType() + " KV cache is read by the CPU kernels only,"
                        + " not on the " + kind() + " device: use an F32 cache there");
            }
            if (c.prefixLength() == 0) {
                attention(c.q(), c.qOff(), c.k(), c.kOff(), c.v(), c.vOff(), c.out(), c.outOff(), c.shape());
            } else {
                attention(c.q(), c.qOff(), c.prefixK(), c.prefixKOff(), c.prefixV(), c.prefixVOff(), c.prefixLength(),
                        c.k(), c.kOff(), c.v(), c.vOff(), c.out(), c.outOff(), c.shape());
            }
        }
    }

    /**
     * Rounds n F32 elements to BF16 into {@code dst} (element offsets), to nearest even as PyTorch
     * does: how a BF16 KV cache is written. Only the host has it.
     */
    default void toBf16(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        throw new UnsupportedOperationException("F32 to BF16 rounding (a BF16 KV cache) is not implemented on the "
                + kind() + " device");
    }

    /**
     * Causal grouped-query attention for one sequence against its KV cache, exactly as
     * {@link org.reflectrm.kernels.Backend#attention}: {@code q[tokens, heads, headDim]}, caches
     * {@code [capacity, kvHeads, headDim]} holding positions {@code 0 .. startPos + tokens - 1}.
     * Prefill (many tokens) is flash-style with an online softmax; decode (one token) splits the
     * keys across work-groups and merges the partial softmaxes.
     */
    void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                   DeviceBuffer out, long outOff, AttentionShape shape);

    /**
     * {@link #attention} for a sequence whose first {@code prefixLength} positions are in caches
     * it shares with other sequences ({@code prefixK, prefixV}) and the rest in its own
     * ({@code kCache, vCache}, holding position {@code prefixLength} at row 0), as
     * {@link org.reflectrm.kernels.Backend#attention(java.lang.foreign.MemorySegment, long,
     * java.lang.foreign.MemorySegment, long, java.lang.foreign.MemorySegment, long, int,
     * java.lang.foreign.MemorySegment, long, java.lang.foreign.MemorySegment, long,
     * java.lang.foreign.MemorySegment, long, AttentionShape)}. Only the host device has it: a
     * GPU forward gives each sequence its own copy of the prefix instead (see
     * {@code DeviceKvCache}), so the GPUs refuse it by name.
     */
    default void attention(DeviceBuffer q, long qOff, DeviceBuffer prefixK, long prefixKOff, DeviceBuffer prefixV,
                           long prefixVOff, int prefixLength, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                           long vOff, DeviceBuffer out, long outOff, AttentionShape shape) {
        throw new UnsupportedOperationException("attention over a shared prefix cache is not implemented on the "
                + kind() + " device");
    }

    /**
     * {@code out[r] = } the index of the largest element of row r of {@code x[rows, cols]}, as
     * int32: the first on ties; NaN loses to every number, and a row of only NaN gives 0.
     */
    void argmax(DeviceBuffer x, long xOff, int rows, int cols, DeviceBuffer out, long outOff);

    // ---- Training: every layout of the matrix product, backward kernels and AdamW. ----
    // Every gradient output ACCUMULATES (dx += ∂L/∂x), as in Backend's backward kernels, so a
    // tensor used twice sums its gradients without a separate add.

    /**
     * General matrix product {@code C[m, n] = op(A)[m, k] · op(B)[k, n]}, or {@code C += ...} when
     * {@code accumulate}, as {@link org.reflectrm.kernels.Backend#matmul}: A is F32, stored
     * {@code [m, k]}, or {@code [k, m]} when {@code transA}; B has type {@code bType}, stored
     * {@code [k, n]}, or {@code [n, k]} when {@code transB}. {@link #linear} is
     * {@code (false, true)}; a linear layer's backward needs {@code dX += dY · W}
     * {@code (false, false)} and {@code dW += dYᵀ · X} {@code (true, false)}.
     */
    void matmul(DeviceBuffer a, long aOff, boolean transA, DeviceBuffer b, long bOff, DType bType, boolean transB,
                DeviceBuffer c, long cOff, int m, int n, int k, boolean accumulate);

    /**
     * Backward of {@link #rmsNorm} for {@code x[rows, dim]} and upstream {@code dy[rows, dim]}:
     * {@code dx += ∂L/∂x}; when {@code dw} is non-null, {@code dw[dim] += ∂L/∂w} (F32), each column
     * summed over the rows in row order, so the result does not depend on how work is split.
     */
    void rmsNormBackward(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                         DeviceBuffer dy, long dyOff, DeviceBuffer dx, long dxOff,
                         DeviceBuffer dw, long dwOff, int rows, int dim, float eps);

    /**
     * Rotation by the negative RoPE angle, in place, with {@link #rope}'s layout and angles: it maps
     * the gradient of RoPE's output to the gradient of its input.
     */
    void ropeInverse(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                     DeviceBuffer positions, long posOff, float theta);

    /** Backward of {@link #swiglu}: {@code dGate += dOut·up·silu'(gate)}, {@code dUp += dOut·silu(gate)}. */
    void swigluBackward(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff, DeviceBuffer dOut, long dOutOff,
                        DeviceBuffer dGate, long dGateOff, DeviceBuffer dUp, long dUpOff, long n);

    /**
     * Backward of {@link #embedding}: {@code dTable[ids[i], :] += dOut[i, :]} for the {@code rows}
     * ids, dTable F32 {@code [vocab, dim]}. Repeated ids sum in order of i, so the result is the
     * same bits on every device and run.
     */
    void embeddingBackward(DeviceBuffer ids, long idsOff, int rows, DeviceBuffer dOut, long dOutOff, int dim,
                           DeviceBuffer dTable, long dTableOff);

    /**
     * Softmax cross-entropy on {@code logits[rows, cols]}, in place, as
     * {@link org.reflectrm.kernels.Backend#crossEntropy}: for each row r with
     * {@code weights[r] != 0}, {@code losses[r] = logsumexp(row) - row[targets[r]]} (F32) and the
     * row becomes {@code weights[r]·(softmax(row) - onehot(targets[r]))}; rows of weight 0 become
     * zero with loss 0. Targets are int32, weights F32.
     */
    void crossEntropy(DeviceBuffer logits, long off, int rows, int cols, DeviceBuffer targets, long targetsOff,
                      DeviceBuffer weights, long weightsOff, DeviceBuffer losses, long lossesOff);

    /**
     * Backward of causal GQA self-attention for one sequence, as
     * {@link org.reflectrm.kernels.Backend#attentionBackward}: {@code shape.startPos()} is 0,
     * {@code q, out, dOut} are {@code [tokens, heads, headDim]}, {@code k, v} are
     * {@code [tokens, kvHeads, headDim]} (the sequence's own keys and values) and {@code out} is
     * the forward's output. Accumulates {@code dq, dk, dv} (same layouts as q, k, v). The
     * probabilities are recomputed, never stored whole (memory O(tokens), not O(tokens²)), and
     * every gradient element is summed in a fixed order with no atomics, so results do not
     * depend on scheduling.
     */
    void attentionBackward(DeviceBuffer q, long qOff, DeviceBuffer k, long kOff, DeviceBuffer v, long vOff,
                           DeviceBuffer out, long outOff, DeviceBuffer dOut, long dOutOff,
                           DeviceBuffer dq, long dqOff, DeviceBuffer dk, long dkOff, DeviceBuffer dv, long dvOff,
                           AttentionShape shape);

    /**
     * One AdamW update of n F32 parameters in place, with their gradient and moment buffers
     * {@code m, v} (F32, updated too), by {@link AdamWStep#update}'s arithmetic.
     */
    void adamW(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer m, long mOff,
               DeviceBuffer v, long vOff, long n, AdamWStep step);

    /**
     * The sum of the squares of n F32 elements, in double: what clipping by global norm needs,
     * without downloading the vector. Waits for queued work. Deterministic, in the fixed orders
     * of {@link SumOfSquares}: the host adds each square in double in element order; a GPU sums
     * F32 blocks of {@link SumOfSquares#BLOCK} in a fixed tree and downloads only the block sums.
     */
    double sumOfSquares(DeviceBuffer x, long xOff, long n);

    /**
     * {@link #sumOfSquares} of several vectors: {@code result[i]} has exactly the bits
     * {@code sumOfSquares(xs.get(i), offs[i], ns[i])} would return. A GPU queues every vector's
     * block sums first and downloads them all at once, so the norm of a gradient spread over
     * hundreds of parameters waits for the device once instead of once per parameter.
     */
    default double[] sumsOfSquares(List<DeviceBuffer> xs, long[] offs, long[] ns) {
        SumOfSquares.blocks(xs, offs, ns);   // checks the counts
        double[] out = new double[xs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = sumOfSquares(xs.get(i), offs[i], ns[i]);
        }
        return out;
    }

    /**
     * One SGD update of n F32 parameters in place, with their gradient and, when
     * {@code step.hasMomentum()}, their momentum buffer (F32, updated too; null otherwise), by
     * {@link SgdStep}'s arithmetic.
     */
    void sgd(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer momentum, long momentumOff,
             long n, SgdStep step);

    @Override
    void close();
}
