package org.reflectrm.kernels.device;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;

/**
 * The device SPI on host memory, computed by a {@link Backend} (normally the CPU one). The
 * fused kernels are the unfused CPU kernels in sequence. It is the executable definition of what
 * every {@link Device} method means, so the device-resident forward can be tested, and compared
 * with the plain CPU forward, on machines without a GPU.
 */
public final class HostDevice implements Device {
    private final Backend backend;

    public HostDevice(Backend backend) {
        this.backend = Objects.requireNonNull(backend);
    }

    /** Host memory, owned by its own arena. */
    private static final class HostBuffer implements DeviceBuffer {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment segment;

        HostBuffer(Backend backend, long bytes) {
            this.segment = backend.allocate(arena, Math.max(bytes, 1)).asSlice(0, bytes);
        }

        @Override
        public long bytes() {
            return segment.byteSize();
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    private static MemorySegment seg(DeviceBuffer b) {
        if (!(b instanceof HostBuffer h)) {
            throw new IllegalArgumentException("buffer " + b + " does not belong to a host device");
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
        return new HostBuffer(backend, bytes);
    }

    @Override
    public void upload(MemorySegment src, DeviceBuffer dst, long dstByteOffset) {
        MemorySegment.copy(src, 0, seg(dst), dstByteOffset, src.byteSize());
    }

    @Override
    public void download(DeviceBuffer src, long srcByteOffset, MemorySegment dst) {
        MemorySegment.copy(seg(src), srcByteOffset, dst, 0, dst.byteSize());
    }

    @Override
    public void synchronize() {
        // Host kernels run synchronously.
    }

    @Override
    public void linear(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                       DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate) {
        backend.matmul(seg(x), xOff, false, seg(w), wOff, wType, true, seg(y), yOff, rows, out, in, accumulate);
    }

    @Override
    public void rmsNormLinear(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                              DeviceBuffer w, long wOff, DType wType, DeviceBuffer y, long yOff,
                              int rows, int out, int in) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment normed = backend.allocate(arena, 4L * rows * in);
            backend.rmsNorm(seg(x), xOff, seg(gamma), gammaOff, gammaType, normed, 0, rows, in, eps);
            backend.matmul(normed, 0, false, seg(w), wOff, wType, true, seg(y), yOff, rows, out, in, false);
        }
    }

    @Override
    public void rmsNormGateUpSwiglu(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType,
                                    float eps, DeviceBuffer wGateUp, long wOff, DType wType,
                                    DeviceBuffer out, long outOff, int rows, int inter, int in) {
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
    }

    @Override
    public void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                         DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType,
                         float eps, DeviceBuffer positions, long posOff, float theta,
                         DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff) {
        int qDim = heads * headDim, kvDim = kvHeads * headDim, width = qDim + 2 * kvDim;
        MemorySegment src = seg(qkv);
        for (int r = 0; r < rows; r++) {
            long row = qkvOff + (long) r * width;
            backend.copy(src, row, seg(q), qOff + (long) r * qDim, qDim);
            backend.copy(src, row + qDim, seg(kCache), kOff + (long) r * kvDim, kvDim);
            backend.copy(src, row + qDim + kvDim, seg(vCache), vOff + (long) r * kvDim, kvDim);
        }
        int[] pos = ints(positions, posOff, rows);
        backend.rmsNorm(seg(q), qOff, seg(qNorm), qNormOff, normType, seg(q), qOff, rows * heads, headDim, eps);
        backend.rmsNorm(seg(kCache), kOff, seg(kNorm), kNormOff, normType, seg(kCache), kOff,
                rows * kvHeads, headDim, eps);
        backend.rope(seg(q), qOff, rows, heads, headDim, pos, theta);
        backend.rope(seg(kCache), kOff, rows, kvHeads, headDim, pos, theta);
    }

    @Override
    public void embedding(DeviceBuffer table, long tableOff, DType tableType, int dim,
                          DeviceBuffer ids, long idsOff, int rows, DeviceBuffer out, long outOff) {
        backend.embedding(seg(table), tableOff, tableType, dim, ints(ids, idsOff, rows), seg(out), outOff);
    }

    @Override
    public void rmsNorm(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                        DeviceBuffer y, long yOff, int rows, int dim, float eps) {
        backend.rmsNorm(seg(x), xOff, seg(w), wOff, wType, seg(y), yOff, rows, dim, eps);
    }

    @Override
    public void rope(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                     DeviceBuffer positions, long posOff, float theta) {
        backend.rope(seg(x), xOff, rows, heads, headDim, ints(positions, posOff, rows), theta);
    }

    @Override
    public void swiglu(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                       DeviceBuffer out, long outOff, long n) {
        backend.swiglu(seg(gate), gateOff, seg(up), upOff, seg(out), outOff, n);
    }

    @Override
    public void add(DeviceBuffer a, long aOff, DeviceBuffer b, long bOff, DeviceBuffer out, long outOff, long n) {
        backend.add(seg(a), aOff, seg(b), bOff, seg(out), outOff, n);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        backend.copy(seg(src), srcOff, seg(dst), dstOff, n);
    }

    @Override
    public void softmax(DeviceBuffer x, long xOff, int rows, int cols) {
        backend.softmax(seg(x), xOff, rows, cols);
    }

    @Override
    public void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                          DeviceBuffer out, long outOff, AttentionShape shape) {
        backend.attention(seg(q), qOff, seg(kCache), kOff, seg(vCache), vOff, seg(out), outOff, shape);
    }

    @Override
    public void argmax(DeviceBuffer x, long xOff, int rows, int cols, DeviceBuffer out, long outOff) {
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
    }

    /** The backend is the caller's; nothing else is held. */
    @Override
    public void close() {
    }
}
