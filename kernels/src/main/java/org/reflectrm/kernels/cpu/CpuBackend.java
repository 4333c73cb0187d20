package org.reflectrm.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;

/** The CPU backend: Vector API kernels on a fixed team of threads. */
public final class CpuBackend implements Backend {
    private final Parallel parallel;
    private final CpuMatmul matmul;
    private final CpuElementwise elementwise;
    private final CpuAttention attention;
    private final CpuElementwiseBackward elementwiseBackward;
    private final CpuAttentionBackward attentionBackward;
    private final CpuCrossEntropy crossEntropy;

    /** A backend on all available cores. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this(threads, PanelCache.defaultBudget());
    }

    /**
     * A backend whose batched decode may repack up to {@code panelBudgetBytes} of BF16 and 8-bit
     * weights into panels ({@link Panels}; 0 keeps every weight in its row layout).
     */
    public CpuBackend(int threads, long panelBudgetBytes) {
        this.parallel = new Parallel(threads);
        this.matmul = new CpuMatmul(parallel, PackedGemm.DEFAULT, panelBudgetBytes);
        this.elementwise = new CpuElementwise(parallel);
        this.attention = new CpuAttention(parallel);
        this.elementwiseBackward = new CpuElementwiseBackward(parallel);
        this.attentionBackward = new CpuAttentionBackward(parallel);
        this.crossEntropy = new CpuCrossEntropy(parallel);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int threads() {
        return parallel.threads();
    }

    @Override
    public MemorySegment allocate(Arena arena, long bytes) {
        return arena.allocate(bytes, 64);
    }

    @Override
    public void matmul(MemorySegment a, long aOff, boolean transA, MemorySegment b, long bOff, DType bType,
                       boolean transB, MemorySegment c, long cOff, int m, int n, int k, boolean accumulate) {
        matmul.matmul(a, aOff, transA, b, bOff, bType, transB, c, cOff, m, n, k, accumulate);
    }

    /**
     * A linear layer on a repacked weight: {@code C[m, n] = A[m, k] · Wᵀ} (see {@link Panels};
     * {@link #matmul} picks panels itself for batched decode).
     */
    public void matmul(MemorySegment a, long aOff, Panels w, MemorySegment c, long cOff, int m) {
        w.multiply(a, aOff, m, c, cOff, parallel);
    }

    @Override
    public void embedding(MemorySegment table, long tableOff, DType tableType, int dim, int[] ids,
                          MemorySegment out, long outOff) {
        elementwise.embedding(table, tableOff, tableType, dim, ids, out, outOff);
    }

    @Override
    public void rmsNorm(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                        MemorySegment y, long yOff, int rows, int dim, float eps) {
        elementwise.rmsNorm(x, xOff, w, wOff, wType, y, yOff, rows, dim, eps);
    }

    @Override
    public void rope(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta) {
        elementwise.rope(x, xOff, rows, heads, headDim, positions, theta);
    }

    @Override
    public void swiglu(MemorySegment gate, long gateOff, MemorySegment up, long upOff,
                       MemorySegment out, long outOff, long n) {
        elementwise.swiglu(gate, gateOff, up, upOff, out, outOff, n);
    }

    @Override
    public void add(MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long outOff, long n) {
        elementwise.add(a, aOff, b, bOff, out, outOff, n);
    }

    @Override
    public void scale(MemorySegment a, long aOff, float s, MemorySegment out, long outOff, long n) {
        elementwise.scale(a, aOff, s, out, outOff, n);
    }

    @Override
    public void softmax(MemorySegment x, long xOff, int rows, int cols) {
        elementwise.softmax(x, xOff, rows, cols);
    }

    @Override
    public void attention(MemorySegment q, long qOff, MemorySegment prefixK, long prefixKOff, MemorySegment prefixV,
                          long prefixVOff, int prefixLength, MemorySegment kCache, long kOff, MemorySegment vCache,
                          long vOff, MemorySegment out, long outOff, AttentionShape shape) {
        long stride = (long) shape.kvHeads() * shape.headDim();
        attention.attention(q, qOff, new CpuAttention.Cache(prefixK, prefixKOff, prefixV, prefixVOff, prefixLength,
                kCache, kOff, vCache, vOff, stride, false), out, outOff, shape);
    }

    @Override
    public void attention(java.util.List<org.reflectrm.kernels.CacheAttention> calls) {
        attention.attention(calls);
    }

    @Override
    public void toBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n) {
        elementwise.toBf16(src, srcOff, dst, dstOff, n);
    }

    @Override
    public void attention(MemorySegment q, long qOff, MemorySegment kCache, long kOff, MemorySegment vCache,
                          long vOff, MemorySegment out, long outOff, AttentionShape shape) {
        attention.attention(q, qOff, kCache, kOff, vCache, vOff, out, outOff, shape);
    }

    @Override
    public void copy(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n) {
        MemorySegment.copy(src, srcOff * 4, dst, dstOff * 4, n * 4);
    }

    @Override
    public void zero(MemorySegment x, long xOff, long n) {
        // Split across the team: zeroing a training step's gradients is bandwidth work that one
        // core does at a fraction of the machine's write bandwidth.
        parallel.chunks(n, Lanes.L, (from, to) -> x.asSlice((xOff + from) * 4, (to - from) * 4).fill((byte) 0));
    }

    @Override
    public void rmsNormBackward(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                                MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                MemorySegment dw, long dwOff, int rows, int dim, float eps) {
        elementwiseBackward.rmsNormBackward(x, xOff, w, wOff, wType, dy, dyOff, dx, dxOff, dw, dwOff, rows, dim, eps);
    }

    @Override
    public void ropeInverse(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta) {
        elementwise.ropeInverse(x, xOff, rows, heads, headDim, positions, theta);
    }

    @Override
    public void swigluBackward(MemorySegment gate, long gateOff, MemorySegment up, long upOff,
                               MemorySegment dOut, long dOutOff, MemorySegment dGate, long dGateOff,
                               MemorySegment dUp, long dUpOff, long n) {
        elementwiseBackward.swigluBackward(gate, gateOff, up, upOff, dOut, dOutOff, dGate, dGateOff, dUp, dUpOff, n);
    }

    @Override
    public void embeddingBackward(int[] ids, MemorySegment dOut, long dOutOff, int dim, MemorySegment dTable, long dTableOff) {
        elementwiseBackward.embeddingBackward(ids, dOut, dOutOff, dim, dTable, dTableOff);
    }

    @Override
    public void attentionBackward(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                                  MemorySegment out, long outOff, MemorySegment dOut, long dOutOff,
                                  MemorySegment dq, long dqOff, MemorySegment dk, long dkOff, MemorySegment dv, long dvOff,
                                  AttentionShape shape) {
        attentionBackward.attentionBackward(q, qOff, k, kOff, v, vOff, out, outOff, dOut, dOutOff,
                dq, dqOff, dk, dkOff, dv, dvOff, shape);
    }

    @Override
    public void crossEntropy(MemorySegment logits, long off, int rows, int cols, int[] targets, float[] weights, double[] losses) {
        crossEntropy.crossEntropy(logits, off, rows, cols, targets, weights, losses);
    }

    @Override
    public void close() {
        parallel.close();
    }
}
