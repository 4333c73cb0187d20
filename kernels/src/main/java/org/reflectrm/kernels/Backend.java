package org.reflectrm.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The compute SPI: every routine the Qwen3 forward and backward need, on raw
 * memory. Implementations: {@code cpu} (Vector API); GPU backends come later behind the same
 * interface.
 *
 * <p>Conventions, for every method:
 * <ul>
 *   <li>Activations are F32. Weight operands carry their own {@link DType} (F32, F16 or BF16) and
 *       are widened inside the kernel, never copied.</li>
 *   <li>Offsets are in <em>elements</em> of the segment's type, not bytes.</li>
 *   <li>Matrices are row-major and contiguous: an {@code [r, c]} matrix has leading dimension c.</li>
 *   <li>Output ranges must not overlap inputs unless a method says it works in place.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    String name();

    /** Worker threads this backend computes with. */
    int threads();

    /** Allocates {@code bytes} of zeroed memory this backend can compute on, owned by {@code arena}. */
    MemorySegment allocate(Arena arena, long bytes);

    /**
     * General matrix product {@code C[m,n] = op(A)[m,k] · op(B)[k,n]}, or {@code C += ...} when
     * {@code accumulate}. A is F32 and stored {@code [m,k]}, or {@code [k,m]} when {@code transA}.
     * B has type {@code bType} and is stored {@code [k,n]}, or {@code [n,k]} when {@code transB}.
     * A linear layer with HF weights {@code W[out,in]} is {@code transB = true}; the backward
     * passes need the other two layouts.
     */
    void matmul(MemorySegment a, long aOff, boolean transA,
                MemorySegment b, long bOff, DType bType, boolean transB,
                MemorySegment c, long cOff, int m, int n, int k, boolean accumulate);

    /** {@code out[i, :] = table[ids[i], :]} widened to F32; table is {@code [vocab, dim]}. */
    void embedding(MemorySegment table, long tableOff, DType tableType, int dim,
                   int[] ids, MemorySegment out, long outOff);

    /**
     * RMSNorm over the last dimension, as HF computes it in F32:
     * {@code y = x / sqrt(mean(x^2) + eps) * w}. {@code x} is {@code [rows, dim]}; per-head q/k
     * norm is the same call with rows = tokens·heads and dim = head_dim. May run in place.
     */
    void rmsNorm(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                 MemorySegment y, long yOff, int rows, int dim, float eps);

    /**
     * Rotate-half RoPE, in place, on {@code x[rows, heads, headDim]}; row r is at position
     * {@code positions[r]}. Dimension i pairs with i + headDim/2. Angles are computed in F32
     * exactly as transformers does: {@code pos * (1 / theta^(2i/headDim))}.
     */
    void rope(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta);

    /** {@code out = silu(gate) * up} element-wise over n elements. */
    void swiglu(MemorySegment gate, long gateOff, MemorySegment up, long upOff,
                MemorySegment out, long outOff, long n);

    /** {@code out = a + b} element-wise; out may alias a or b. */
    void add(MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long outOff, long n);

    /** {@code out = a * s} element-wise; out may alias a. */
    void scale(MemorySegment a, long aOff, float s, MemorySegment out, long outOff, long n);

    /** Row-wise softmax, in place, on {@code x[rows, cols]}. */
    void softmax(MemorySegment x, long xOff, int rows, int cols);

    /**
     * Causal grouped-query attention for one sequence against its KV cache.
     * {@code q[tokens, heads, headDim]}; caches {@code [capacity, kvHeads, headDim]} already
     * holding positions {@code 0 .. startPos + tokens - 1}; token t (position startPos + t)
     * attends to cache positions {@code 0 .. startPos + t}. Query head h reads KV head
     * {@code h / (heads / kvHeads)}. Writes {@code out[tokens, heads, headDim]}.
     */
    void attention(MemorySegment q, long qOff, MemorySegment kCache, long kOff, MemorySegment vCache, long vOff,
                   MemorySegment out, long outOff, AttentionShape shape);

    /**
     * {@link #attention} for a sequence whose first {@code prefixLength} positions live in a
     * cache shared with other sequences ({@code prefixK, prefixV}, same layout) and the rest in its
     * own cache, which holds position {@code prefixLength} at index 0: N sequences that continue
     * one prompt keep its keys and values once. The result equals attention over the two caches
     * concatenated, up to rounding. Queries start at or after the prefix
     * ({@code shape.startPos() >= prefixLength}).
     */
    void attention(MemorySegment q, long qOff, MemorySegment prefixK, long prefixKOff, MemorySegment prefixV,
                   long prefixVOff, int prefixLength, MemorySegment kCache, long kOff, MemorySegment vCache, long vOff,
                   MemorySegment out, long outOff, AttentionShape shape);

    /**
     * {@link #attention} for many sequences at once, each against its own cache (see
     * {@link CacheAttention}), in one parallel loop: a decode step of a batch hands the team one
     * task per (sequence, token, KV head) instead of a small loop per sequence. Each sequence's
     * result is the same bits as its own call.
     */
    void attention(List<CacheAttention> calls);

    /** Rounds n F32 elements to BF16 (to nearest even, as PyTorch): {@code dst} holds BF16, offsets in elements. */
    void toBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n);

    /** Copies n F32 elements. */
    void copy(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n);

    /** Sets n F32 elements to zero. */
    void zero(MemorySegment x, long xOff, long n);

    // ---- Backward kernels (training). Every gradient output is ACCUMULATED: dx += ∂L/∂x. ----

    /**
     * Backward of {@link #rmsNorm} for {@code x[rows, dim]} and upstream {@code dy[rows, dim]}:
     * {@code dx += ∂L/∂x}; when {@code dw} is non-null, {@code dw[dim] += ∂L/∂w} (F32, summed
     * over rows in a fixed order, so the result does not depend on the thread count).
     */
    void rmsNormBackward(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                         MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                         MemorySegment dw, long dwOff, int rows, int dim, float eps);

    /**
     * The inverse of {@link #rope} (rotation by the negative angle), in place, same layout and
     * angles. Since RoPE is a rotation, this maps an output gradient to the input gradient.
     */
    void ropeInverse(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta);

    /**
     * Backward of {@link #swiglu}: {@code dGate += dOut·up·silu'(gate)},
     * {@code dUp += dOut·silu(gate)}, over n elements.
     */
    void swigluBackward(MemorySegment gate, long gateOff, MemorySegment up, long upOff,
                        MemorySegment dOut, long dOutOff, MemorySegment dGate, long dGateOff,
                        MemorySegment dUp, long dUpOff, long n);

    /**
     * Backward of {@link #embedding}: {@code dTable[ids[i], :] += dOut[i, :]} for every i, with
     * {@code dTable} F32 {@code [vocab, dim]}; repeated ids sum (in order of i).
     */
    void embeddingBackward(int[] ids, MemorySegment dOut, long dOutOff, int dim, MemorySegment dTable, long dTableOff);

    /**
     * Backward of {@link #attention} for one sequence attending to itself: {@code shape.startPos()}
     * is 0 and {@code k, v} are {@code [tokens, kvHeads, headDim]} (the sequence's own keys and
     * values). {@code out} is the forward's output. Recomputes the attention probabilities row by
     * row (memory is O(tokens), not O(tokens²)) and accumulates {@code dq, dk, dv} (same layouts
     * as q, k, v).
     */
    void attentionBackward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                           MemorySegment out, long outOff, MemorySegment dOut, long dOutOff,
                           MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff,
                           AttentionShape shape);

    /**
     * Softmax cross-entropy on {@code logits[rows, cols]}, in place. For each row r with
     * {@code weights[r] != 0}: {@code losses[r] = logsumexp(row) - row[targets[r]]} and the row is
     * replaced by its gradient {@code weights[r]·(softmax(row) - onehot(targets[r]))}. Rows with
     * weight 0 are set to zero and get loss 0 (their target is not read).
     */
    void crossEntropy(MemorySegment logits, long off, int rows, int cols, int[] targets, float[] weights, double[] losses);

    @Override
    void close();
}
