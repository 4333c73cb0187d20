package org.reflectrm.tensor;

import java.util.Arrays;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;

/**
 * The tensor operations a model is written in. Each op checks shapes, allocates its F32 result
 * from the allocator and runs one backend kernel. Models call these and nothing lower, so the
 * same model code serves inference and (with the backprop issue) training, where each op also
 * records its backward.
 */
public final class Ops {
    private final Backend backend;
    private final Allocator allocator;

    public Ops(Backend backend, Allocator allocator) {
        this.backend = backend;
        this.allocator = allocator;
    }

    public Backend backend() {
        return backend;
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

    /** A new F32 tensor holding {@code values} with the given shape. */
    public Tensor fromArray(float[] values, int... shape) {
        Tensor t = empty(shape);
        if (t.numel() != values.length) {
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        java.lang.foreign.MemorySegment.copy(values, 0, t.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, values.length);
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
        backend.embedding(table.segment(), table.offset(), table.dtype(), dim, ids, out.segment(), out.offset());
        return out;
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
        backend.matmul(x.segment(), x.offset(), false, w.segment(), w.offset(), w.dtype(), true,
                y.segment(), y.offset(), x.rows(), out, in, false);
        return y;
    }

    /** RMSNorm over the last axis with weight {@code w[lastDim]}. */
    public Tensor rmsNorm(Tensor x, Tensor w, float eps) {
        requireF32(x, "rmsNorm input");
        int dim = x.dim(-1);
        if (w.numel() != dim) {
            throw new IllegalArgumentException("rmsNorm: weight " + Arrays.toString(w.shape()) + " for last axis " + dim);
        }
        Tensor y = empty(x.shape());
        backend.rmsNorm(x.segment(), x.offset(), w.segment(), w.offset(), w.dtype(), y.segment(), y.offset(), x.rows(), dim, eps);
        return y;
    }

    /** Rotate-half RoPE on {@code x[tokens, heads, headDim]}, returning a new tensor. */
    public Tensor rope(Tensor x, int[] positions, float theta) {
        requireRank(x, 3, "rope input");
        if (positions.length != x.dim(0)) {
            throw new IllegalArgumentException("rope: " + positions.length + " positions for " + x.dim(0) + " tokens");
        }
        Tensor y = copy(x);
        backend.rope(y.segment(), y.offset(), x.dim(0), x.dim(1), x.dim(2), positions, theta);
        return y;
    }

    /** {@code silu(gate) * up}. */
    public Tensor swiglu(Tensor gate, Tensor up) {
        requireSameShape(gate, up, "swiglu");
        Tensor out = empty(gate.shape());
        backend.swiglu(gate.segment(), gate.offset(), up.segment(), up.offset(), out.segment(), out.offset(), gate.numel());
        return out;
    }

    public Tensor add(Tensor a, Tensor b) {
        requireSameShape(a, b, "add");
        Tensor out = empty(a.shape());
        backend.add(a.segment(), a.offset(), b.segment(), b.offset(), out.segment(), out.offset(), a.numel());
        return out;
    }

    public Tensor copy(Tensor x) {
        requireF32(x, "copy");
        Tensor out = empty(x.shape());
        backend.copy(x.segment(), x.offset(), out.segment(), out.offset(), x.numel());
        return out;
    }

    /** Row-wise softmax over the last axis. */
    public Tensor softmax(Tensor x) {
        Tensor out = copy(x);
        backend.softmax(out.segment(), out.offset(), x.rows(), x.dim(-1));
        return out;
    }

    /**
     * Causal GQA attention of {@code q[tokens, heads, headDim]} against caches {@code k, v}
     * ({@code [capacity, kvHeads, headDim]}) that already hold positions up to
     * {@code startPos + tokens - 1}.
     */
    public Tensor attention(Tensor q, Tensor kCache, Tensor vCache, int startPos, float scale) {
        requireRank(q, 3, "attention query");
        requireRank(kCache, 3, "key cache");
        int tokens = q.dim(0);
        if (startPos + tokens > kCache.dim(0)) {
            throw new IllegalArgumentException("attention: positions up to " + (startPos + tokens) + " exceed cache capacity " + kCache.dim(0));
        }
        AttentionShape shape = new AttentionShape(tokens, startPos, q.dim(1), kCache.dim(1), q.dim(2), scale);
        Tensor out = empty(q.shape());
        backend.attention(q.segment(), q.offset(), kCache.segment(), kCache.offset(), vCache.segment(), vCache.offset(),
                out.segment(), out.offset(), shape);
        return out;
    }

    /** Copies {@code src} into {@code dst} (same element count, both F32), e.g. into a KV cache. */
    public void copyInto(Tensor src, Tensor dst) {
        requireF32(src, "copy source");
        requireF32(dst, "copy target");
        if (src.numel() != dst.numel()) {
            throw new IllegalArgumentException("copy of " + src + " into " + dst);
        }
        backend.copy(src.segment(), src.offset(), dst.segment(), dst.offset(), src.numel());
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
