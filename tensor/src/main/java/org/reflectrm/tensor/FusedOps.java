package org.reflectrm.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.AttentionCall;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.KvSlots;
import org.reflectrm.kernels.device.RecordingDevice;

/**
 * The fused inference ops a GPU forward runs ({@link Device#fusesForward}): RMSNorm folded into
 * the next projection, gate/up/SiLU in one launch, residual adds folded into the projections,
 * and the QKV split that normalises, rotates and stores keys and values in one pass. Each saves
 * launches and round trips through device memory; none has a backward, so training and adapted
 * layers use the plain {@link Ops}. Results go to the {@link Ops}' allocator.
 *
 * <p>On a {@link RecordingDevice} the cache slot a token's key goes to, and the keys attention
 * sees, come from the token positions in device memory rather than from arguments: that is what
 * lets a recorded decode step replay right as the caches fill. Direct and recorded steps run the
 * same kernels.
 */
public final class FusedOps {
    private final Ops ops;
    private final Device device;

    public FusedOps(Ops ops) {
        if (ops.recording()) {
            throw new IllegalArgumentException("fused ops have no backward: use Ops while recording");
        }
        this.ops = ops;
        this.device = ops.device();
    }

    /** {@code rmsNorm(x; gamma, eps) · wᵀ}: {@code x[rows, in]}, {@code w[out, in]}, result {@code [rows, out]}. */
    public Tensor rmsNormLinear(Tensor x, Tensor gamma, float eps, Tensor w) {
        int rows = matrixInput(x, gamma, w, "rmsNormLinear");
        Tensor y = ops.empty(rows, w.dim(0));
        device.rmsNormLinear(x.buffer(), x.offset(), gamma.buffer(), gamma.offset(), gamma.dtype(), eps,
                w.buffer(), w.offset(), w.dtype(), y.buffer(), y.offset(), rows, w.dim(0), w.dim(1));
        return y;
    }

    /**
     * The MLP's first half: {@code silu(n · Wgateᵀ) * (n · Wupᵀ)} with {@code n = rmsNorm(x; gamma)},
     * where {@code gateUp[2·inter, in]} holds gate_proj's rows then up_proj's (see
     * {@link Tensor#stacked}). Result {@code [rows, inter]}.
     */
    public Tensor rmsNormGateUpSwiglu(Tensor x, Tensor gamma, float eps, Tensor gateUp) {
        int rows = matrixInput(x, gamma, gateUp, "rmsNormGateUpSwiglu");
        if (gateUp.dim(0) % 2 != 0) {
            throw new IllegalArgumentException("rmsNormGateUpSwiglu: " + gateUp + " is not gate and up stacked");
        }
        int inter = gateUp.dim(0) / 2;
        Tensor out = ops.empty(rows, inter);
        device.rmsNormGateUpSwiglu(x.buffer(), x.offset(), gamma.buffer(), gamma.offset(), gamma.dtype(), eps,
                gateUp.buffer(), gateUp.offset(), gateUp.dtype(), out.buffer(), out.offset(), rows, inter, gateUp.dim(1));
        return out;
    }

    /** {@code y += x · wᵀ} in place: a residual add folded into the projection. */
    public void addLinear(Tensor y, Tensor x, Tensor w) {
        requireF32(y, "addLinear target");
        requireF32(x, "addLinear input");
        if (w.rank() != 2 || x.dim(-1) != w.dim(1) || y.dim(-1) != w.dim(0) || y.rows() != x.rows()) {
            throw new IllegalArgumentException("addLinear: y " + y + ", x " + x + ", w " + w + " do not fit");
        }
        device.linear(x.buffer(), x.offset(), w.buffer(), w.offset(), w.dtype(), y.buffer(), y.offset(),
                x.rows(), w.dim(0), w.dim(1), true);
    }

    /** Rows of an embedding table for ids already on the device (int32, checked by the caller). */
    public Tensor embedding(Tensor table, Tensor ids) {
        requireInts(ids, "embedding ids");
        Tensor out = ops.empty((int) ids.numel(), table.dim(1));
        device.embedding(table.buffer(), table.offset(), table.dtype(), table.dim(1), ids.buffer(), ids.offset(),
                (int) ids.numel(), out.buffer(), out.offset());
        return out;
    }

    /**
     * The fused QKV projection of a batch, split: from {@code qkv[rows, (heads + 2·kvHeads)·headDim]},
     * {@code q[rows, heads, headDim] := rope(rmsNorm(q; qNorm))}, and each row's
     * {@code rope(rmsNorm(k; kNorm))} and v go to its sequence's caches ({@code k, v[slots,
     * kvHeads, headDim]} of {@code sequences}, in order, each with its tokens' rows) at slots
     * {@code startPos ..}. Row r is at {@code positions[r]} (int32 on the device); on a recording
     * device the slot is that position, so each cache's row 0 must be position 0 (no shared
     * prefix), as it is for every {@link Ops.CachedSequence} this takes.
     */
    public void splitQkv(Tensor qkv, Tensor qNorm, Tensor kNorm, float eps, Tensor positions, float theta, Tensor q,
                         List<Ops.CachedSequence> sequences) {
        requireF32(qkv, "splitQkv input");
        requireF32(q, "splitQkv query");
        requireInts(positions, "positions");
        if (q.rank() != 3 || qkv.rank() != 2 || sequences.isEmpty()) {
            throw new IllegalArgumentException("splitQkv: qkv " + qkv + ", q " + q + " for " + sequences.size()
                    + " sequences");
        }
        int heads = q.dim(1), headDim = q.dim(2), kvHeads = sequences.getFirst().k().dim(1);
        int[] rows = new int[sequences.size()];
        List<KvSlots> caches = new ArrayList<>(sequences.size());
        int total = 0;
        for (int i = 0; i < rows.length; i++) {
            Ops.CachedSequence s = sequences.get(i);
            Tensor k = s.k(), v = s.v();
            requireF32(k, "key cache");
            requireF32(v, "value cache");
            if (s.prefixLength() != 0 || k.rank() != 3 || !Arrays.equals(k.shape(), v.shape()) || k.dim(1) != kvHeads
                    || k.dim(2) != headDim || s.startPos() < 0 || s.startPos() + s.tokens() > k.dim(0)) {
                throw new IllegalArgumentException("splitQkv: sequence " + i + " (" + s.tokens() + " tokens from "
                        + s.startPos() + ") does not fit its cache " + k);
            }
            rows[i] = s.tokens();
            caches.add(new KvSlots(k.buffer(), k.offset(), v.buffer(), v.offset(), k.dim(0)));
            total += s.tokens();
        }
        if (qkv.dim(0) != total || q.dim(0) != total || positions.numel() != total
                || qkv.dim(1) != (heads + 2 * kvHeads) * headDim) {
            throw new IllegalArgumentException("splitQkv: qkv " + qkv + ", q " + q + ", positions " + positions
                    + " for " + total + " rows");
        }
        if (qNorm.dtype() != kNorm.dtype()) {
            throw new IllegalArgumentException("splitQkv: q_norm is " + qNorm.dtype() + " but k_norm " + kNorm.dtype());
        }
        if (device instanceof RecordingDevice recorder) {
            recorder.splitQkvAtPositions(qkv.buffer(), qkv.offset(), heads, kvHeads, headDim,
                    qNorm.buffer(), qNorm.offset(), kNorm.buffer(), kNorm.offset(), qNorm.dtype(), eps,
                    positions.buffer(), positions.offset(), theta, q.buffer(), q.offset(), rows, caches);
            return;
        }
        long qkvRow = qkv.dim(1), qRow = (long) heads * headDim, kvRow = (long) kvHeads * headDim;
        for (int i = 0, row = 0; i < rows.length; row += rows[i], i++) {
            KvSlots c = caches.get(i);
            long slot = sequences.get(i).startPos() * kvRow;
            device.splitQkv(qkv.buffer(), qkv.offset() + row * qkvRow, rows[i], heads, kvHeads, headDim,
                    qNorm.buffer(), qNorm.offset(), kNorm.buffer(), kNorm.offset(), qNorm.dtype(), eps,
                    positions.buffer(), positions.offset() + row, theta, q.buffer(), q.offset() + row * qRow,
                    c.k(), c.kOff() + slot, c.v(), c.vOff() + slot);
        }
    }

    /**
     * {@link Ops#attention(Tensor, List, float)} for F32 caches without a shared prefix, whose
     * query rows are at {@code positions} (int32 on the device, one per row of q). On a recording
     * device each sequence's visible keys come from there; elsewhere this is the plain op.
     */
    public Tensor attention(Tensor q, List<Ops.CachedSequence> sequences, float scale, Tensor positions) {
        if (!(device instanceof RecordingDevice recorder)) {
            return ops.attention(q, sequences, scale);
        }
        requireInts(positions, "positions");
        if (positions.numel() != q.dim(0)) {
            throw new IllegalArgumentException("attention: " + positions.numel() + " positions for " + q.dim(0) + " queries");
        }
        int[] slots = new int[sequences.size()];
        for (int i = 0; i < slots.length; i++) {
            Ops.CachedSequence s = sequences.get(i);
            if (s.prefixLength() != 0 || s.k().dtype() != DType.F32) {
                throw new IllegalArgumentException("fused attention reads F32 caches without a shared prefix");
            }
            slots[i] = s.k().dim(0);        // the caches hold position p at row p
        }
        Tensor out = ops.empty(q.shape());
        List<AttentionCall> calls = ops.attentionCalls(q, sequences, scale, out);   // checks that each fits its slots
        recorder.attentionAtPositions(calls, positions.buffer(), positions.offset(), slots);
        return out;
    }

    /** Checks a fused norm-and-project's operands; returns the rows of x. */
    private static int matrixInput(Tensor x, Tensor gamma, Tensor w, String op) {
        requireF32(x, op + " input");
        if (w.rank() != 2 || x.dim(-1) != w.dim(1) || gamma.numel() != w.dim(1)) {
            throw new IllegalArgumentException(op + ": x " + x + ", norm " + gamma + ", w " + w + " do not fit");
        }
        return x.rows();
    }

    private static void requireF32(Tensor t, String what) {
        if (t.dtype() != DType.F32 || t.requiresGrad()) {
            throw new IllegalArgumentException(what + " must be an F32 tensor without a gradient, got " + t);
        }
    }

    private static void requireInts(Tensor t, String what) {
        if (t.dtype() != DType.I32) {
            throw new IllegalArgumentException(what + " must be int32, got " + t.dtype());
        }
    }
}
