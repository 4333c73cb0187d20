package org.reflectrm.kernels.device;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuAdamW;
import org.reflectrm.kernels.cpu.CpuSgd;

/**
 * The device SPI on host memory, computed by a {@link Backend} (normally the CPU one). The
 * fused kernels are the unfused CPU kernels in sequence. It is the executable definition of what
 * every {@link Device} method means, so the device-resident forward can be tested, and compared
 * with the plain CPU forward, on machines without a GPU. Recording ({@link RecordingDevice})
 * keeps the kernel calls as closures and replays them, which is what a CUDA graph does.
 */
public final class HostDevice implements RecordingDevice {
    private final Backend backend;
    private final Transfers transfers = new Transfers();
    private final Allocations allocations = new Allocations();
    /** Kernels recorded since beginRecording, or null when kernels run at once. */
    private List<Runnable> recording;

    /** Whether forwards run fused and record decode steps here, as on a GPU (for tests). */
    private final boolean fused;

    public HostDevice(Backend backend) {
        this(backend, false);
    }

    /**
     * A host device on which, when {@code fusedForward}, the model runs its forward as a GPU
     * would: the fused kernels, and decode steps recorded and replayed. Slower than the plain
     * CPU forward; it lets tests check the GPU's forward on machines without one.
     */
    public HostDevice(Backend backend, boolean fusedForward) {
        this.backend = Objects.requireNonNull(backend);
        this.fused = fusedForward;
    }

    @Override
    public boolean fusesForward() {
        return fused;
    }

    /** The backend whose kernels this device runs. */
    public Backend backend() {
        return backend;
    }

    /**
     * Host memory: owned by its own arena when the device allocated it, or a view of memory
     * someone else owns ({@link #wrap}: a mapped checkpoint, a slice of scratch), which closing
     * leaves alone.
     */
    private static final class HostBuffer implements DeviceBuffer {
        private final Arena arena;
        private final MemorySegment segment;
        /** The count this buffer is in, or null for a view. */
        private final Allocations allocations;

        HostBuffer(Backend backend, long bytes, Allocations allocations) {
            this.arena = Arena.ofShared();
            this.segment = backend.allocate(arena, Math.max(bytes, 1)).asSlice(0, bytes);
            this.allocations = allocations;
            allocations.allocated(bytes);
        }

        HostBuffer(MemorySegment view) {
            this.arena = null;
            this.segment = view;
            this.allocations = null;
        }

        @Override
        public long bytes() {
            return segment.byteSize();
        }

        @Override
        public void read(long byteOffset, MemorySegment dst) {
            MemorySegment.copy(segment, byteOffset, dst, 0, dst.byteSize());
        }

        @Override
        public void write(MemorySegment src, long byteOffset) {
            MemorySegment.copy(src, 0, segment, byteOffset, src.byteSize());
        }

        @Override
        public void close() {
            if (arena != null && arena.scope().isAlive()) {
                arena.close();
                allocations.freed(segment.byteSize());
            }
        }

        @Override
        public String toString() {
            return "HostBuffer[" + segment.byteSize() + " bytes]";
        }
    }

    /**
     * Host memory as a buffer of any host device, without a copy: how mapped weights and scratch
     * slices become tensors' storage. The caller keeps owning the memory; closing the buffer does
     * nothing.
     */
    public static DeviceBuffer wrap(MemorySegment memory) {
        return new HostBuffer(memory);
    }

    /** Whether {@code b} is host memory (from {@link #wrap} or a host device's {@link #allocate}). */
    public static boolean isHost(DeviceBuffer b) {
        return b instanceof HostBuffer;
    }

    /** The host memory of a host buffer; a GPU's buffer is refused by name. */
    public static MemorySegment segment(DeviceBuffer b) {
        return seg(b);
    }

    private static MemorySegment seg(DeviceBuffer b) {
        if (!(b instanceof HostBuffer h)) {
            throw new IllegalArgumentException("buffer " + b + " is not host memory");
        }
        return h.segment;
    }

    private static int[] ints(DeviceBuffer b, long off, int n) {
        int[] v = new int[n];
        MemorySegment s = seg(b);
        for (int i = 0; i < n; i++) {
            v[i] = s.getAtIndex(JAVA_INT_UNALIGNED, off + i);
        }
        return v;
    }

    /** Runs a kernel now, or records it. */
    private void run(Runnable kernel) {
        if (recording != null) {
            recording.add(kernel);
        } else {
            kernel.run();
        }
    }

    private void requireNotRecording(String what) {
        if (recording != null) {
            throw new IllegalStateException(what + " is not allowed while recording launches");
        }
    }

    @Override
    public void beginRecording() {
        if (recording != null) {
            throw new IllegalStateException("already recording");
        }
        recording = new ArrayList<>();
    }

    @Override
    public DeviceGraph endRecording() {
        if (recording == null) {
            throw new IllegalStateException("not recording");
        }
        List<Runnable> kernels = List.copyOf(recording);
        recording = null;
        return new DeviceGraph() {
            private boolean closed;

            @Override
            public boolean isValid() {
                return !closed;
            }

            @Override
            public void launch() {
                if (closed) {
                    throw new IllegalStateException("the graph is closed");
                }
                kernels.forEach(HostDevice.this::run);
            }

            @Override
            public void close() {
                closed = true;
            }
        };
    }

    @Override
    public String kind() {
        return "host";
    }

    @Override
    public String description() {
        return "host memory, " + backend.name() + " kernels on " + backend.threads() + " threads";
    }

    @Override
    public long memoryBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        requireNotRecording("allocate");
        return new HostBuffer(backend, bytes, allocations);
    }

    @Override
    public void upload(MemorySegment src, DeviceBuffer dst, long dstByteOffset) {
        requireNotRecording("upload");
        MemorySegment.copy(src, 0, seg(dst), dstByteOffset, src.byteSize());
        transfers.countUpload(src.byteSize());
    }

    @Override
    public void download(DeviceBuffer src, long srcByteOffset, MemorySegment dst) {
        requireNotRecording("download");
        MemorySegment.copy(seg(src), srcByteOffset, dst, 0, dst.byteSize());
        transfers.countDownload(dst.byteSize());
    }

    @Override
    public Transfers.Count transfers() {
        return transfers.snapshot();
    }

    @Override
    public Allocations allocations() {
        return allocations;
    }

    @Override
    public void synchronize() {
        requireNotRecording("synchronize");
        // Host kernels run synchronously.
    }

    @Override
    public void linear(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                       DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate) {
        run(() -> {
            backend.matmul(seg(x), xOff, false, seg(w), wOff, wType, true, seg(y), yOff, rows, out, in, accumulate);
        });
    }

    @Override
    public void rmsNormLinear(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                              DeviceBuffer w, long wOff, DType wType, DeviceBuffer y, long yOff,
                              int rows, int out, int in) {
        run(() -> {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment normed = backend.allocate(arena, 4L * rows * in);
                backend.rmsNorm(seg(x), xOff, seg(gamma), gammaOff, gammaType, normed, 0, rows, in, eps);
                backend.matmul(normed, 0, false, seg(w), wOff, wType, true, seg(y), yOff, rows, out, in, false);
            }
        });
    }

    @Override
    public void rmsNormGateUpSwiglu(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType,
                                    float eps, DeviceBuffer wGateUp, long wOff, DType wType,
                                    DeviceBuffer out, long outOff, int rows, int inter, int in) {
        run(() -> {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment normed = backend.allocate(arena, 4L * rows * in);
                MemorySegment gate = backend.allocate(arena, 4L * rows * inter);
                MemorySegment up = backend.allocate(arena, 4L * rows * inter);
                backend.rmsNorm(seg(x), xOff, seg(gamma), gammaOff, gammaType, normed, 0, rows, in, eps);
                backend.matmul(normed, 0, false, seg(wGateUp), wOff, wType, true, gate, 0, rows, inter, in, false);
                backend.matmul(normed, 0, false, seg(wGateUp), wOff + (long) inter * in, wType, true, up, 0,
                        rows, inter, in, false);
                backend.swiglu(gate, 0, up, 0, seg(out), outOff, (long) rows * inter);
            }
        });
    }

    @Override
    public void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                         DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType,
                         float eps, DeviceBuffer positions, long posOff, float theta,
                         DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff) {
        run(() -> split(seg(qkv), qkvOff, rows, heads, kvHeads, headDim, seg(qNorm), qNormOff, seg(kNorm), kNormOff,
                normType, eps, ints(positions, posOff, rows), theta, seg(q), qOff, seg(kCache), kOff, seg(vCache), vOff));
    }

    @Override
    public void splitQkvAtPositions(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                                    DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                    DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                    DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                                    long vOff, int slots) {
        run(() -> {
            int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
            int[] pos = ints(positions, posOff, rows);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment discard = null;  // k and v of rows outside the cache
                for (int r = 0; r < rows; r++) {
                    boolean inCache = pos[r] >= 0 && pos[r] < slots;
                    if (!inCache && discard == null) {
                        discard = backend.allocate(arena, 8L * kvDim);
                    }
                    long slot = (long) pos[r] * kvDim;
                    split(seg(qkv), qkvOff + (long) r * width, 1, heads, kvHeads, headDim, seg(qNorm), qNormOff,
                            seg(kNorm), kNormOff, normType, eps, new int[] {pos[r]}, theta, seg(q), qOff + (long) r * qDim,
                            inCache ? seg(kCache) : discard, inCache ? kOff + slot : 0,
                            inCache ? seg(vCache) : discard, inCache ? vOff + slot : kvDim);
                }
            }
        });
    }

    /** Rows' q heads to q and their k and v heads to the caches from kOff / vOff; q and k normed and rotated. */
    private void split(MemorySegment src, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                       MemorySegment qNorm, long qNormOff, MemorySegment kNorm, long kNormOff, DType normType,
                       float eps, int[] pos, float theta, MemorySegment q, long qOff, MemorySegment k, long kOff,
                       MemorySegment v, long vOff) {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
        for (int r = 0; r < rows; r++) {
            long row = qkvOff + (long) r * width;
            backend.copy(src, row, q, qOff + (long) r * qDim, qDim);
            backend.copy(src, row + qDim, k, kOff + (long) r * kvDim, kvDim);
            backend.copy(src, row + qDim + kvDim, v, vOff + (long) r * kvDim, kvDim);
        }
        backend.rmsNorm(q, qOff, qNorm, qNormOff, normType, q, qOff, rows * heads, headDim, eps);
        backend.rmsNorm(k, kOff, kNorm, kNormOff, normType, k, kOff, rows * kvHeads, headDim, eps);
        backend.rope(q, qOff, rows, heads, headDim, pos, theta);
        backend.rope(k, kOff, rows, kvHeads, headDim, pos, theta);
    }

    @Override
    public void embedding(DeviceBuffer table, long tableOff, DType tableType, int dim,
                          DeviceBuffer ids, long idsOff, int rows, DeviceBuffer out, long outOff) {
        run(() -> {
            backend.embedding(seg(table), tableOff, tableType, dim, ints(ids, idsOff, rows), seg(out), outOff);
        });
    }

    @Override
    public void rmsNorm(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                        DeviceBuffer y, long yOff, int rows, int dim, float eps) {
        run(() -> {
            backend.rmsNorm(seg(x), xOff, seg(w), wOff, wType, seg(y), yOff, rows, dim, eps);
        });
    }

    @Override
    public void rope(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                     DeviceBuffer positions, long posOff, float theta) {
        run(() -> {
            backend.rope(seg(x), xOff, rows, heads, headDim, ints(positions, posOff, rows), theta);
        });
    }

    @Override
    public void swiglu(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                       DeviceBuffer out, long outOff, long n) {
        run(() -> {
            backend.swiglu(seg(gate), gateOff, seg(up), upOff, seg(out), outOff, n);
        });
    }

    @Override
    public void add(DeviceBuffer a, long aOff, DeviceBuffer b, long bOff, DeviceBuffer out, long outOff, long n) {
        run(() -> {
            backend.add(seg(a), aOff, seg(b), bOff, seg(out), outOff, n);
        });
    }

    @Override
    public void copy(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        run(() -> {
            backend.copy(seg(src), srcOff, seg(dst), dstOff, n);
        });
    }

    @Override
    public void scale(DeviceBuffer a, long aOff, float s, DeviceBuffer out, long outOff, long n) {
        run(() -> backend.scale(seg(a), aOff, s, seg(out), outOff, n));
    }

    @Override
    public void zero(DeviceBuffer x, long xOff, long n) {
        run(() -> backend.zero(seg(x), xOff, n));
    }

    @Override
    public void softmax(DeviceBuffer x, long xOff, int rows, int cols) {
        run(() -> {
            backend.softmax(seg(x), xOff, rows, cols);
        });
    }

    @Override
    public void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                          DeviceBuffer out, long outOff, AttentionShape shape) {
        run(() -> {
            backend.attention(seg(q), qOff, seg(kCache), kOff, seg(vCache), vOff, seg(out), outOff, shape);
        });
    }

    @Override
    public void attention(DeviceBuffer q, long qOff, DeviceBuffer prefixK, long prefixKOff, DeviceBuffer prefixV,
                          long prefixVOff, int prefixLength, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                          long vOff, DeviceBuffer out, long outOff, AttentionShape shape) {
        run(() -> backend.attention(seg(q), qOff, seg(prefixK), prefixKOff, seg(prefixV), prefixVOff, prefixLength,
                seg(kCache), kOff, seg(vCache), vOff, seg(out), outOff, shape));
    }

    @Override
    public void attention(List<AttentionCall> calls) {
        List<org.reflectrm.kernels.CacheAttention> onHost = new ArrayList<>(calls.size());
        for (AttentionCall c : calls) {
            boolean shared = c.prefixLength() > 0;
            onHost.add(new org.reflectrm.kernels.CacheAttention(seg(c.q()), c.qOff(),
                    shared ? seg(c.prefixK()) : seg(c.k()), shared ? c.prefixKOff() : c.kOff(),
                    shared ? seg(c.prefixV()) : seg(c.v()), shared ? c.prefixVOff() : c.vOff(), c.prefixLength(),
                    seg(c.k()), c.kOff(), seg(c.v()), c.vOff(), c.kvType(), seg(c.out()), c.outOff(), c.shape()));
        }
        run(() -> backend.attention(onHost));
    }

    @Override
    public void toBf16(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        run(() -> backend.toBf16(seg(src), srcOff, seg(dst), dstOff, n));
    }

    @Override
    public void attentionAtPositions(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                                     long vOff, DeviceBuffer out, long outOff, AttentionShape shape,
                                     DeviceBuffer positions, long posOff, int slots) {
        RecordingDevice.requireSlots(shape, slots);
        run(() -> {
            int start = shape.tokens() == 0 ? 0 : ints(positions, posOff, 1)[0];
            AttentionShape now = new AttentionShape(shape.tokens(), start, shape.heads(), shape.kvHeads(),
                    shape.headDim(), shape.scale());
            backend.attention(seg(q), qOff, seg(kCache), kOff, seg(vCache), vOff, seg(out), outOff, now);
        });
    }

    @Override
    public void argmax(DeviceBuffer x, long xOff, int rows, int cols, DeviceBuffer out, long outOff) {
        run(() -> {
            MemorySegment s = seg(x), o = seg(out);
            for (int r = 0; r < rows; r++) {
                long base = xOff + (long) r * cols;
                int best = 0;
                float max = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base);
                for (int c = 1; c < cols; c++) {
                    float v = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base + c);
                    if (v > max || (Float.isNaN(max) && !Float.isNaN(v))) {
                        max = v;
                        best = c;
                    }
                }
                o.setAtIndex(JAVA_INT_UNALIGNED, outOff + r, best);
            }
        });
    }

    // ---- Training ----

    @Override
    public void matmul(DeviceBuffer a, long aOff, boolean transA, DeviceBuffer b, long bOff, DType bType,
                       boolean transB, DeviceBuffer c, long cOff, int m, int n, int k, boolean accumulate) {
        run(() -> backend.matmul(seg(a), aOff, transA, seg(b), bOff, bType, transB, seg(c), cOff, m, n, k, accumulate));
    }

    @Override
    public void rmsNormBackward(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                                DeviceBuffer dy, long dyOff, DeviceBuffer dx, long dxOff,
                                DeviceBuffer dw, long dwOff, int rows, int dim, float eps) {
        run(() -> backend.rmsNormBackward(seg(x), xOff, seg(w), wOff, wType, seg(dy), dyOff, seg(dx), dxOff,
                dw == null ? null : seg(dw), dwOff, rows, dim, eps));
    }

    @Override
    public void ropeInverse(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                            DeviceBuffer positions, long posOff, float theta) {
        run(() -> backend.ropeInverse(seg(x), xOff, rows, heads, headDim, ints(positions, posOff, rows), theta));
    }

    @Override
    public void swigluBackward(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                               DeviceBuffer dOut, long dOutOff, DeviceBuffer dGate, long dGateOff,
                               DeviceBuffer dUp, long dUpOff, long n) {
        run(() -> backend.swigluBackward(seg(gate), gateOff, seg(up), upOff, seg(dOut), dOutOff,
                seg(dGate), dGateOff, seg(dUp), dUpOff, n));
    }

    @Override
    public void embeddingBackward(DeviceBuffer ids, long idsOff, int rows, DeviceBuffer dOut, long dOutOff, int dim,
                                  DeviceBuffer dTable, long dTableOff) {
        run(() -> backend.embeddingBackward(ints(ids, idsOff, rows), seg(dOut), dOutOff, dim, seg(dTable), dTableOff));
    }

    @Override
    public void crossEntropy(DeviceBuffer logits, long off, int rows, int cols, DeviceBuffer targets, long targetsOff,
                             DeviceBuffer weights, long weightsOff, DeviceBuffer losses, long lossesOff) {
        run(() -> {
            float[] w = new float[rows];
            MemorySegment.copy(seg(weights), JAVA_FLOAT_UNALIGNED, weightsOff * 4, w, 0, rows);
            double[] loss = new double[rows];
            backend.crossEntropy(seg(logits), off, rows, cols, ints(targets, targetsOff, rows), w, loss);
            for (int r = 0; r < rows; r++) {
                seg(losses).setAtIndex(JAVA_FLOAT_UNALIGNED, lossesOff + r, (float) loss[r]);
            }
        });
    }

    @Override
    public void attentionBackward(DeviceBuffer q, long qOff, DeviceBuffer k, long kOff, DeviceBuffer v, long vOff,
                                  DeviceBuffer out, long outOff, DeviceBuffer dOut, long dOutOff,
                                  DeviceBuffer dq, long dqOff, DeviceBuffer dk, long dkOff, DeviceBuffer dv, long dvOff,
                                  AttentionShape shape) {
        run(() -> backend.attentionBackward(seg(q), qOff, seg(k), kOff, seg(v), vOff, seg(out), outOff,
                seg(dOut), dOutOff, seg(dq), dqOff, seg(dk), dkOff, seg(dv), dvOff, shape));
    }

    @Override
    public void adamW(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer m, long mOff,
                      DeviceBuffer v, long vOff, long n, AdamWStep step) {
        run(() -> CpuAdamW.update(seg(param), paramOff, seg(grad), gradOff, seg(m), mOff, seg(v), vOff, n, step));
    }

    @Override
    public double sumOfSquares(DeviceBuffer x, long xOff, long n) {
        requireNotRecording("sumOfSquares");   // it returns a value: nothing to replay
        return SumOfSquares.inOrder(seg(x), xOff, n);
    }

    @Override
    public void sgd(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer momentum,
                    long momentumOff, long n, SgdStep step) {
        step.requireBuffer(momentum);
        run(() -> CpuSgd.update(seg(param), paramOff, seg(grad), gradOff, momentum == null ? null : seg(momentum),
                momentumOff, n, step));
    }

    /** The backend is the caller's; nothing else is held. */
    @Override
    public void close() {
    }
}
