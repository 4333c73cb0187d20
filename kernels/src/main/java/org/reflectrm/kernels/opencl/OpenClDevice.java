package org.reflectrm.kernels.opencl;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.AdamWStep;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.Allocations;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.SgdStep;
import org.reflectrm.kernels.device.DeviceException;
import org.reflectrm.kernels.device.SumOfSquares;
import org.reflectrm.kernels.device.Transfers;

/**
 * The {@link Device} SPI on an OpenCL 1.2 device (an NVIDIA GPU through NVIDIA's ICD; PoCL on
 * a CPU for tests). One context, one in-order queue, and the kernels of {@code opencl/*.cl}
 * built when the device opens: the matmul program once per weight type (F32, F16, BF16) so
 * the weight-streaming loops have no type switch, the rest once. The training kernels, all but
 * the matmul (which is in the matmul program), are a program of their own, built on first use.
 *
 * <p>Kernel methods only enqueue; {@link #download} and {@link #synchronize} wait. Operand
 * ranges are checked against buffer sizes on the host, so a wrong offset is an
 * IllegalArgumentException here rather than an out-of-bounds access on the device.
 *
 * <p>Thread safety: the SPI is called from one thread at a time; methods are synchronized so
 * that a second thread cannot interleave its kernel arguments with the first's.
 */
public final class OpenClDevice implements Device {
    /** Largest row count of the GEMV path ({@code GEMV_MAX_ROWS} in matmul.cl); more rows take the tiled GEMM. */
    static final int GEMV_MAX_ROWS = 8;
    /** Weight rows per GEMV work-group ({@code GEMV_W}), and its work-group size ({@code GEMV_WG}). */
    private static final int GEMV_W = 4;
    private static final int GEMV_WG = 128;
    /** GEMM output tile ({@code TILE}) and work-group side ({@code GEMM_T}). */
    private static final int GEMM_TILE = 64;
    private static final int GEMM_T = 16;
    private static final int ROW_WG = 256;
    private static final int QKV_WG = 64;
    private static final int ELEMENT_WG = 256;
    private static final int EMBEDDING_WG = 64;
    /**
     * Attention ({@code ATT_WG}, {@code BQ}, {@code SPLIT}, {@code MAX_D} in attention.cl); its
     * backward in training.cl uses the same work-group size and largest head dimension
     * ({@code ATTB_WG}, {@code ATTB_MAX_D}).
     */
    private static final int ATT_WG = 128;
    private static final int ATT_QUERY_BLOCK = 16;
    private static final int ATT_SPLIT = 256;
    private static final int ATT_MAX_HEAD_DIM = 128;
    /** Rows per partial sum of RMSNorm's dw ({@code DW_ROW_BLOCK} in training.cl). */
    private static final int DW_ROW_BLOCK = 32;

    private static final int MODE_STORE = 0;
    private static final int MODE_ACCUMULATE = 1;
    private static final int MODE_GATE_UP = 2;
    /** Kernel argument meaning "no norm weight": the fused norm is skipped. */
    private static final int NO_NORM = -1;

    private final OpenCl cl;
    private final OpenClPlatforms.Entry entry;
    private final String description;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment zeroPattern = arena.allocate(JAVA_INT);
    private MemorySegment context;
    private MemorySegment queue;
    private final Map<DType, OpenClProgram> matmul = new EnumMap<>(DType.class);
    private OpenClProgram common;
    private OpenClLaunch launch;
    /** RoPE inverse frequencies per (theta, headDim / 2), computed on the host as transformers does. */
    private final Map<RopeKey, OpenClBuffer> ropeFrequencies = new HashMap<>();
    /** Split-KV partials of decode attention, grown on demand (in-order queue: safe to reuse). */
    private OpenClBuffer attentionPartials;
    /** The training kernels' program, built on first use ({@link #training()}), and their scratch, grown on demand. */
    private OpenClProgram training;
    private OpenClBuffer trainingScratch;
    private final Transfers transfers = new Transfers();
    private final Allocations allocations = new Allocations();
    private boolean closed;

    private record RopeKey(float theta, int half) {
    }

    private OpenClDevice(OpenCl cl, OpenClPlatforms.Entry entry) {
        this.cl = cl;
        this.entry = entry;
        try {
            context = cl.createContext(entry.device());
            queue = cl.createQueue(context, entry.device());
            launch = new OpenClLaunch(cl, queue, arena);
            String prelude = OpenClProgram.source("prelude.cl");
            String matmulSource = prelude + OpenClProgram.source("matmul.cl");
            matmul.put(DType.F32, build("matmul-f32", matmulSource, "-DWEIGHT_F32"));
            matmul.put(DType.F16, build("matmul-f16", matmulSource, "-DWEIGHT_F16"));
            matmul.put(DType.BF16, build("matmul-bf16", matmulSource, "-DWEIGHT_BF16"));
            common = build("common", prelude + OpenClProgram.source("rows.cl") + OpenClProgram.source("attention.cl"), "");
            this.description = "OpenCL " + entry.platformName() + " / " + entry.deviceName() + " ("
                    + cl.deviceString(entry.device(), OpenCl.DEVICE_VERSION) + ", driver "
                    + cl.deviceString(entry.device(), OpenCl.DRIVER_VERSION) + ")";
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    // ---- Discovery ----

    /** One line per OpenCL device, GPUs first ({@code platform / device / type / global memory}); empty when OpenCL is absent. */
    public static List<String> list() {
        try {
            List<String> lines = new ArrayList<>();
            for (OpenClPlatforms.Entry e : OpenClPlatforms.all(OpenCl.get())) {
                lines.add(e.describe());
            }
            return lines;
        } catch (DeviceException e) {
            return List.of();
        }
    }

    /**
     * Opens the first GPU, or when {@code gpuOnly} is false and there is none, the first device of
     * any type. Throws a DeviceException saying what is missing when there is no such device.
     */
    public static OpenClDevice open(boolean gpuOnly) {
        OpenCl cl = OpenCl.get();
        List<OpenClPlatforms.Entry> all = OpenClPlatforms.all(cl);
        for (OpenClPlatforms.Entry e : all) {
            if (e.isGpu() || !gpuOnly) {
                return new OpenClDevice(cl, e);
            }
        }
        if (all.isEmpty()) {
            throw new DeviceException("no OpenCL device: " + OpenCl.LIBRARY + " is installed but no platform (vendor "
                    + "driver) is registered under /etc/OpenCL/vendors; install the NVIDIA driver's OpenCL ICD, or "
                    + "pocl-opencl-icd for the CPU");
        }
        List<String> found = all.stream().map(OpenClPlatforms.Entry::describe).toList();
        throw new DeviceException("no OpenCL GPU among the devices found: " + String.join("; ", found));
    }

    /** Builds a program on this device (tests use it to see a failing build's log). */
    OpenClProgram build(String name, String source, String options) {
        return OpenClProgram.build(cl, context, entry.device(), name, source, "-cl-std=CL1.2 " + options);
    }

    // ---- Device, memory ----

    @Override
    public String kind() {
        return "opencl";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public long memoryBytes() {
        return entry.memoryBytes();
    }

    @Override
    public synchronized DeviceBuffer allocate(long bytes) {
        ensureOpen();
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation " + bytes);
        }
        // OpenCL has no empty buffers, and the fill pattern is 4 bytes: round up, report what was asked for.
        long size = Math.max(4, (bytes + 3) & ~3L);
        OpenClBuffer b = new OpenClBuffer(cl, this, cl.createBuffer(context, size), bytes);
        allocations.allocated(bytes);
        try {
            cl.fill(queue, b.handle(), zeroPattern, size);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    @Override
    public synchronized void upload(MemorySegment src, DeviceBuffer dst, long dstByteOffset) {
        ensureOpen();
        OpenClBuffer d = own(dst);
        requireBytes(d, dstByteOffset, src.byteSize(), "upload");
        transfers.countUpload(src.byteSize());
        if (src.byteSize() == 0) {
            return;
        }
        if (src.isNative()) {
            cl.write(queue, d.handle(), dstByteOffset, src);
            return;
        }
        // A heap segment cannot be handed to the driver: stage it.
        try (Arena staging = Arena.ofConfined()) {
            cl.write(queue, d.handle(), dstByteOffset, staging.allocate(src.byteSize()).copyFrom(src));
        }
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
    public synchronized void download(DeviceBuffer src, long srcByteOffset, MemorySegment dst) {
        ensureOpen();
        OpenClBuffer s = own(src);
        requireBytes(s, srcByteOffset, dst.byteSize(), "download");
        transfers.countDownload(dst.byteSize());
        if (dst.byteSize() == 0) {
            synchronize();
            return;
        }
        if (dst.isNative()) {
            cl.read(queue, s.handle(), srcByteOffset, dst);
            return;
        }
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment tmp = staging.allocate(dst.byteSize());
            cl.read(queue, s.handle(), srcByteOffset, tmp);
            dst.copyFrom(tmp);
        }
    }

    @Override
    public synchronized void synchronize() {
        ensureOpen();
        cl.finish(queue);
    }

    // ---- Matmuls ----

    @Override
    public synchronized void linear(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                                    DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate) {
        project(x, xOff, null, 0, null, 0f, w, wOff, wType, y, yOff, rows, out, in,
                accumulate ? MODE_ACCUMULATE : MODE_STORE);
    }

    @Override
    public synchronized void rmsNormLinear(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff,
                                           DType gammaType, float eps, DeviceBuffer w, long wOff, DType wType,
                                           DeviceBuffer y, long yOff, int rows, int out, int in) {
        project(x, xOff, gamma, gammaOff, gammaType, eps, w, wOff, wType, y, yOff, rows, out, in, MODE_STORE);
    }

    @Override
    public synchronized void rmsNormGateUpSwiglu(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff,
                                                 DType gammaType, float eps, DeviceBuffer wGateUp, long wOff,
                                                 DType wType, DeviceBuffer out, long outOff,
                                                 int rows, int inter, int in) {
        project(x, xOff, gamma, gammaOff, gammaType, eps, wGateUp, wOff, wType, out, outOff, rows, inter, in,
                MODE_GATE_UP);
    }

    /**
     * {@code y[rows, out] (=|+=) norm?(x) · Wᵀ}, or with MODE_GATE_UP {@code silu(n·Wgateᵀ) * (n·Wupᵀ)}
     * for {@code W[2·out, in]}. gamma null: no norm. GEMV for decode-sized row counts, tiled GEMM above.
     */
    private void project(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                         DeviceBuffer w, long wOff, DType wType, DeviceBuffer y, long yOff,
                         int rows, int out, int in, int mode) {
        ensureOpen();
        if (rows < 0 || out < 0 || in <= 0) {
            throw new IllegalArgumentException("bad matmul shape rows=" + rows + " out=" + out + " in=" + in);
        }
        long weightRows = mode == MODE_GATE_UP ? 2L * out : out;
        OpenClBuffer bx = operand(x, xOff, (long) rows * in, DType.F32, "x");
        OpenClBuffer bw = operand(w, wOff, weightRows * in, wType, "weight");
        OpenClBuffer by = operand(y, yOff, (long) rows * out, DType.F32, "y");
        // Without a norm the gamma argument is unused; any valid buffer fills its slot.
        OpenClBuffer bg = gamma == null ? bx : operand(gamma, gammaOff, in, gammaType, "norm weight");
        int gammaCode = gamma == null ? NO_NORM : typeCode(gammaType);
        if (rows == 0 || out == 0) {
            return;
        }
        OpenClProgram program = matmul.get(wType);
        if (rows <= GEMV_MAX_ROWS) {
            // 8-wide loads can be single vector loads when every row starts 32-byte aligned.
            boolean aligned = xOff % 8 == 0 && wOff % 8 == 0 && in % 8 == 0;
            int cols = mode == MODE_GATE_UP ? GEMV_W / 2 : GEMV_W;
            launch.of(program.kernel("gemv"))
                    .mem(bx).i64(xOff).mem(bg).i64(gammaOff).i32(gammaCode).f32(eps)
                    .mem(bw).i64(wOff).mem(by).i64(yOff)
                    .i32(rows).i32(out).i32(in).i32(mode).i32(aligned ? 1 : 0)
                    .groups(ceilDiv(out, cols), 1, GEMV_WG, 1);
            return;
        }
        OpenClLaunch l = launch.of(program.kernel(mode == MODE_GATE_UP ? "gemm_gate_up" : "gemm"))
                .mem(bx).i64(xOff).mem(bg).i64(gammaOff).i32(gammaCode).f32(eps)
                .mem(bw).i64(wOff).mem(by).i64(yOff)
                .i32(rows).i32(out).i32(in);
        if (mode != MODE_GATE_UP) {
            l.i32(mode);
        }
        l.groups(ceilDiv(out, GEMM_TILE), ceilDiv(rows, GEMM_TILE), GEMM_T, GEMM_T);
    }

    // ---- Row-wise kernels ----

    @Override
    public synchronized void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                                      DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                      DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                      DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff,
                                      DeviceBuffer vCache, long vOff) {
        ensureOpen();
        requireHeads(heads, kvHeads, headDim);
        long qDim = (long) heads * headDim, kvDim = (long) kvHeads * headDim;
        OpenClBuffer bqkv = operand(qkv, qkvOff, rows * (qDim + 2 * kvDim), DType.F32, "qkv");
        OpenClBuffer bqn = operand(qNorm, qNormOff, headDim, normType, "q norm");
        OpenClBuffer bkn = operand(kNorm, kNormOff, headDim, normType, "k norm");
        OpenClBuffer bpos = operand(positions, posOff, rows, DType.I32, "positions");
        OpenClBuffer bq = operand(q, qOff, rows * qDim, DType.F32, "q");
        OpenClBuffer bk = operand(kCache, kOff, rows * kvDim, DType.F32, "k cache");
        OpenClBuffer bv = operand(vCache, vOff, rows * kvDim, DType.F32, "v cache");
        if (rows == 0) {
            return;
        }
        launch.of(common.kernel("split_qkv"))
                .mem(bqkv).i64(qkvOff).i32(heads).i32(kvHeads).i32(headDim)
                .mem(bqn).i64(qNormOff).mem(bkn).i64(kNormOff).i32(typeCode(normType)).f32(eps)
                .mem(bpos).i64(posOff).mem(ropeFrequencies(theta, headDim / 2))
                .mem(bq).i64(qOff).mem(bk).i64(kOff).mem(bv).i64(vOff)
                .groups(heads + 2L * kvHeads, rows, QKV_WG, 1);
    }

    @Override
    public synchronized void embedding(DeviceBuffer table, long tableOff, DType tableType, int dim,
                                       DeviceBuffer ids, long idsOff, int rows, DeviceBuffer out, long outOff) {
        ensureOpen();
        if (dim <= 0) {
            throw new IllegalArgumentException("bad embedding dim " + dim);
        }
        OpenClBuffer bt = operand(table, tableOff, dim, tableType, "embedding table");
        OpenClBuffer bids = operand(ids, idsOff, rows, DType.I32, "ids");
        OpenClBuffer bout = operand(out, outOff, (long) rows * dim, DType.F32, "out");
        // The ids live on the device; the kernel bounds-checks them against the table's row count.
        long vocab = (table.bytes() / tableType.byteSize() - tableOff) / dim;
        if (rows == 0) {
            return;
        }
        launch.of(matmul.get(tableType).kernel("embedding"))
                .mem(bt).i64(tableOff).i32(dim).i64(vocab).mem(bids).i64(idsOff).mem(bout).i64(outOff)
                .groups(ceilDiv(dim, EMBEDDING_WG), rows, EMBEDDING_WG, 1);
    }

    @Override
    public synchronized void rmsNorm(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                                     DeviceBuffer y, long yOff, int rows, int dim, float eps) {
        ensureOpen();
        long n = (long) rows * dim;
        OpenClBuffer bx = operand(x, xOff, n, DType.F32, "x");
        OpenClBuffer bw = operand(w, wOff, dim, wType, "norm weight");
        OpenClBuffer by = operand(y, yOff, n, DType.F32, "y");
        if (n == 0) {
            return;
        }
        launch.of(common.kernel("rms_norm"))
                .mem(bx).i64(xOff).mem(bw).i64(wOff).i32(typeCode(wType)).mem(by).i64(yOff).i32(dim).f32(eps)
                .groups(rows, 1, ROW_WG, 1);
    }

    @Override
    public synchronized void rope(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                                  DeviceBuffer positions, long posOff, float theta) {
        ensureOpen();
        rotate(false, x, xOff, rows, heads, headDim, positions, posOff, theta);
    }

    /** RoPE's rotation, or with {@code inverse} the rotation by the negative angle (one kernel, the sine's sign). */
    private void rotate(boolean inverse, DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                        DeviceBuffer positions, long posOff, float theta) {
        requireHeads(heads, heads, headDim);
        long pairs = (long) rows * heads * (headDim / 2);
        OpenClBuffer bx = operand(x, xOff, (long) rows * heads * headDim, DType.F32, "x");
        OpenClBuffer bpos = operand(positions, posOff, rows, DType.I32, "positions");
        if (pairs == 0) {
            return;
        }
        launch.of(common.kernel("rope"))
                .mem(bx).i64(xOff).i32(rows).i32(heads).i32(headDim).mem(bpos).i64(posOff)
                .mem(ropeFrequencies(theta, headDim / 2)).f32(inverse ? -1f : 1f)
                .elements(pairs, ELEMENT_WG);
    }

    @Override
    public synchronized void swiglu(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                                    DeviceBuffer out, long outOff, long n) {
        elementwise("swiglu", gate, gateOff, up, upOff, out, outOff, n);
    }

    @Override
    public synchronized void add(DeviceBuffer a, long aOff, DeviceBuffer b, long bOff,
                                 DeviceBuffer out, long outOff, long n) {
        elementwise("add", a, aOff, b, bOff, out, outOff, n);
    }

    private void elementwise(String kernel, DeviceBuffer a, long aOff, DeviceBuffer b, long bOff,
                             DeviceBuffer out, long outOff, long n) {
        ensureOpen();
        OpenClBuffer ba = operand(a, aOff, n, DType.F32, "a");
        OpenClBuffer bb = operand(b, bOff, n, DType.F32, "b");
        OpenClBuffer bo = operand(out, outOff, n, DType.F32, "out");
        if (n == 0) {
            return;
        }
        launch.of(common.kernel(kernel))
                .mem(ba).i64(aOff).mem(bb).i64(bOff).mem(bo).i64(outOff).i64(n)
                .elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void copy(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        ensureOpen();
        OpenClBuffer bs = operand(src, srcOff, n, DType.F32, "src");
        OpenClBuffer bd = operand(dst, dstOff, n, DType.F32, "dst");
        if (n == 0) {
            return;
        }
        launch.of(common.kernel("copy")).mem(bs).i64(srcOff).mem(bd).i64(dstOff).i64(n).elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void scale(DeviceBuffer a, long aOff, float s, DeviceBuffer out, long outOff, long n) {
        ensureOpen();
        OpenClBuffer ba = operand(a, aOff, n, DType.F32, "a");
        OpenClBuffer bo = operand(out, outOff, n, DType.F32, "out");
        if (n == 0) {
            return;
        }
        launch.of(common.kernel("scale")).mem(ba).i64(aOff).f32(s).mem(bo).i64(outOff).i64(n).elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void zero(DeviceBuffer x, long xOff, long n) {
        ensureOpen();
        OpenClBuffer bx = operand(x, xOff, n, DType.F32, "x");
        if (n == 0) {
            return;
        }
        launch.of(common.kernel("zero")).mem(bx).i64(xOff).i64(n).elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void softmax(DeviceBuffer x, long xOff, int rows, int cols) {
        ensureOpen();
        OpenClBuffer bx = operand(x, xOff, (long) rows * cols, DType.F32, "x");
        if (rows == 0 || cols == 0) {
            return;
        }
        launch.of(common.kernel("softmax")).mem(bx).i64(xOff).i32(cols).groups(rows, 1, ROW_WG, 1);
    }

    @Override
    public synchronized void argmax(DeviceBuffer x, long xOff, int rows, int cols, DeviceBuffer out, long outOff) {
        ensureOpen();
        if (cols <= 0) {
            throw new IllegalArgumentException("argmax of empty rows (cols=" + cols + ")");
        }
        OpenClBuffer bx = operand(x, xOff, (long) rows * cols, DType.F32, "x");
        OpenClBuffer bo = operand(out, outOff, rows, DType.I32, "out");
        if (rows == 0) {
            return;
        }
        launch.of(common.kernel("argmax")).mem(bx).i64(xOff).i32(cols).mem(bo).i64(outOff)
                .groups(rows, 1, ROW_WG, 1);
    }

    // ---- Attention ----

    @Override
    public synchronized void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff,
                                       DeviceBuffer vCache, long vOff, DeviceBuffer out, long outOff,
                                       AttentionShape s) {
        ensureOpen();
        int d = s.headDim();
        if (d > ATT_MAX_HEAD_DIM) {
            throw new IllegalArgumentException("the OpenCL attention kernels take head_dim <= " + ATT_MAX_HEAD_DIM
                    + ", not " + d);
        }
        long keys = (long) s.startPos() + s.tokens();
        long n = (long) s.tokens() * s.heads() * d;
        OpenClBuffer bq = operand(q, qOff, n, DType.F32, "q");
        OpenClBuffer bk = operand(kCache, kOff, keys * s.kvHeads() * d, DType.F32, "k cache");
        OpenClBuffer bv = operand(vCache, vOff, keys * s.kvHeads() * d, DType.F32, "v cache");
        OpenClBuffer bo = operand(out, outOff, n, DType.F32, "out");
        if (s.tokens() == 0) {
            return;
        }
        if (s.tokens() == 1) {
            decodeAttention(bq, qOff, bk, kOff, bv, vOff, bo, outOff, s);
            return;
        }
        launch.of(common.kernel("attention_prefill"))
                .mem(bq).i64(qOff).mem(bk).i64(kOff).mem(bv).i64(vOff).mem(bo).i64(outOff)
                .i32(s.tokens()).i32(s.startPos()).i32(s.heads()).i32(s.kvHeads()).i32(d).f32(s.scale())
                .groups(ceilDiv(s.tokens(), ATT_QUERY_BLOCK), s.heads(), ATT_WG, 1);
    }

    /** One query token: split the keys across work-groups, then merge their partial softmaxes. */
    private void decodeAttention(OpenClBuffer bq, long qOff, OpenClBuffer bk, long kOff, OpenClBuffer bv, long vOff,
                                 OpenClBuffer bo, long outOff, AttentionShape s) {
        int d = s.headDim();
        int splits = ceilDiv(s.startPos() + 1, ATT_SPLIT);
        OpenClBuffer partials = attentionPartials(4L * s.heads() * splits * (d + 2));
        launch.of(common.kernel("attention_decode"))
                .mem(bq).i64(qOff).mem(bk).i64(kOff).mem(bv).i64(vOff).mem(partials)
                .i32(s.startPos()).i32(s.heads()).i32(s.kvHeads()).i32(d).f32(s.scale()).i32(splits)
                .groups(splits, s.heads(), ATT_WG, 1);
        launch.of(common.kernel("attention_merge"))
                .mem(partials).i32(splits).i32(d).mem(bo).i64(outOff)
                .groups(s.heads(), 1, ATT_WG, 1);
    }

    private OpenClBuffer attentionPartials(long bytes) {
        attentionPartials = atLeast(attentionPartials, bytes);
        return attentionPartials;
    }

    /** b if it holds {@code bytes}, else a new buffer of {@code max(bytes, 2 · b's size)}, closing b. */
    private OpenClBuffer atLeast(OpenClBuffer b, long bytes) {
        if (b != null && b.bytes() >= bytes) {
            return b;
        }
        long size = Math.max(bytes, b == null ? 0 : 2 * b.bytes());
        if (b != null) {
            b.close();  // freed once the kernels queued on it have run
        }
        return (OpenClBuffer) allocate(size);
    }

    /**
     * {@code 1 / theta^(2i / headDim)} for i < half, computed in F32 exactly as transformers (and the
     * CPU backend) do and uploaded once: at positions in the tens of thousands an ulp of a
     * device-side pow would already show in the rotated values.
     */
    private OpenClBuffer ropeFrequencies(float theta, int half) {
        RopeKey key = new RopeKey(theta, half);
        OpenClBuffer b = ropeFrequencies.get(key);
        if (b == null) {
            try (Arena host = Arena.ofConfined()) {
                MemorySegment f = host.allocate(JAVA_FLOAT, half);
                for (int i = 0; i < half; i++) {
                    float exponent = (float) (2 * i) / (2 * half);
                    f.setAtIndex(JAVA_FLOAT, i, 1.0f / (float) Math.pow(theta, exponent));
                }
                b = (OpenClBuffer) allocate(f.byteSize());
                upload(f, b, 0);
            }
            ropeFrequencies.put(key, b);
        }
        return b;
    }

    // ---- Checks ----

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the OpenCL device (" + entry.deviceName() + ") is closed");
        }
    }

    /** b as a buffer of this device, open. */
    private OpenClBuffer own(DeviceBuffer b) {
        if (!(b instanceof OpenClBuffer o) || o.owner() != this) {
            throw new IllegalArgumentException("buffer " + b + " does not belong to this OpenCL device");
        }
        o.handle();
        return o;
    }

    /** b, checked to hold {@code count} elements of {@code type} from element {@code off}. */
    private OpenClBuffer operand(DeviceBuffer b, long off, long count, DType type, String what) {
        if (type != DType.I32 && !type.isComputeType()) {
            throw new IllegalArgumentException(what + ": OpenCL kernels compute with F32, F16 or BF16, not " + type);
        }
        OpenClBuffer o = own(b);
        if (off < 0 || count < 0 || (off + count) * type.byteSize() > o.bytes()) {
            throw new IllegalArgumentException(what + ": elements [" + off + ", " + (off + count) + ") of " + type
                    + " do not fit its buffer of " + o.bytes() + " bytes");
        }
        return o;
    }

    private static void requireBytes(OpenClBuffer b, long offset, long bytes, String what) {
        if (offset < 0 || offset + bytes > b.bytes()) {
            throw new IllegalArgumentException(what + ": bytes [" + offset + ", " + (offset + bytes)
                    + ") do not fit the buffer of " + b.bytes() + " bytes");
        }
    }

    private static void requireHeads(int heads, int kvHeads, int headDim) {
        if (heads <= 0 || kvHeads <= 0 || headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("bad heads=" + heads + " kvHeads=" + kvHeads + " headDim=" + headDim
                    + " (RoPE needs an even head_dim)");
        }
    }

    /** The DT_* codes of prelude.cl. */
    private static int typeCode(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            default -> throw new IllegalArgumentException("OpenCL kernels compute with F32, F16 or BF16, not " + t);
        };
    }

    private static int ceilDiv(long a, int b) {
        return Math.toIntExact((a + b - 1) / b);
    }

    // ---- Training ----

    @Override
    public synchronized void matmul(DeviceBuffer a, long aOff, boolean transA, DeviceBuffer b, long bOff, DType bType,
                                    boolean transB, DeviceBuffer c, long cOff, int m, int n, int k,
                                    boolean accumulate) {
        ensureOpen();
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("bad matmul shape m=" + m + " n=" + n + " k=" + k);
        }
        if (!transA && transB && k > 0) {
            // linear's layout: its GEMV serves the few-row products the tiled kernel would waste tiles on.
            project(a, aOff, null, 0, null, 0f, b, bOff, bType, c, cOff, m, n, k,
                    accumulate ? MODE_ACCUMULATE : MODE_STORE);
            return;
        }
        OpenClBuffer ba = operand(a, aOff, (long) m * k, DType.F32, "a");
        OpenClBuffer bb = operand(b, bOff, (long) k * n, bType, "b");
        OpenClBuffer bc = operand(c, cOff, (long) m * n, DType.F32, "c");
        if (m == 0 || n == 0) {
            return;
        }
        // k = 0 runs too: the kernel then stores zeros (or adds nothing).
        launch.of(matmul.get(bType).kernel("matmul"))
                .mem(ba).i64(aOff).i32(transA ? 1 : 0).mem(bb).i64(bOff).i32(transB ? 1 : 0)
                .mem(bc).i64(cOff).i32(m).i32(n).i32(k).i32(accumulate ? 1 : 0)
                .groups(ceilDiv(n, GEMM_TILE), ceilDiv(m, GEMM_TILE), GEMM_T, GEMM_T);
    }

    @Override
    public synchronized void rmsNormBackward(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                                             DeviceBuffer dy, long dyOff, DeviceBuffer dx, long dxOff,
                                             DeviceBuffer dw, long dwOff, int rows, int dim, float eps) {
        ensureOpen();
        if (rows < 0 || dim < 0) {
            throw new IllegalArgumentException("bad rmsNormBackward shape rows=" + rows + " dim=" + dim);
        }
        long n = (long) rows * dim;
        OpenClBuffer bx = operand(x, xOff, n, DType.F32, "x");
        OpenClBuffer bw = operand(w, wOff, dim, wType, "norm weight");
        OpenClBuffer bdy = operand(dy, dyOff, n, DType.F32, "dy");
        OpenClBuffer bdx = operand(dx, dxOff, n, DType.F32, "dx");
        OpenClBuffer bdw = dw == null ? null : operand(dw, dwOff, dim, DType.F32, "dw");
        if (n == 0) {
            return;
        }
        // Scratch: each row's inverse RMS, then (for dw) one row of column partials per block of rows.
        int blocks = ceilDiv(rows, DW_ROW_BLOCK);
        long partials = bdw == null ? 0 : (long) blocks * dim;
        OpenClBuffer scratch = trainingScratch(4 * (rows + partials));
        OpenClProgram p = training();
        launch.of(p.kernel("rms_norm_backward"))
                .mem(bx).i64(xOff).mem(bw).i64(wOff).i32(typeCode(wType)).mem(bdy).i64(dyOff).mem(bdx).i64(dxOff)
                .mem(scratch).i32(dim).f32(eps)
                .groups(rows, 1, ROW_WG, 1);
        if (bdw == null) {
            return;
        }
        // Two passes over fixed row blocks rather than atomics: the sum's order, so its bits, never varies.
        launch.of(p.kernel("rms_norm_weight_partials"))
                .mem(bx).i64(xOff).mem(bdy).i64(dyOff).mem(scratch).i32(rows).i32(dim)
                .groups(ceilDiv(dim, ELEMENT_WG), blocks, ELEMENT_WG, 1);
        launch.of(p.kernel("rms_norm_weight_sum"))
                .mem(scratch).i32(rows).i32(blocks).i32(dim).mem(bdw).i64(dwOff)
                .elements(dim, ELEMENT_WG);
    }

    @Override
    public synchronized void ropeInverse(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                                         DeviceBuffer positions, long posOff, float theta) {
        ensureOpen();
        rotate(true, x, xOff, rows, heads, headDim, positions, posOff, theta);
    }

    @Override
    public synchronized void swigluBackward(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                                            DeviceBuffer dOut, long dOutOff, DeviceBuffer dGate, long dGateOff,
                                            DeviceBuffer dUp, long dUpOff, long n) {
        ensureOpen();
        OpenClBuffer bg = operand(gate, gateOff, n, DType.F32, "gate");
        OpenClBuffer bu = operand(up, upOff, n, DType.F32, "up");
        OpenClBuffer bdo = operand(dOut, dOutOff, n, DType.F32, "dOut");
        OpenClBuffer bdg = operand(dGate, dGateOff, n, DType.F32, "dGate");
        OpenClBuffer bdu = operand(dUp, dUpOff, n, DType.F32, "dUp");
        if (n == 0) {
            return;
        }
        launch.of(training().kernel("swiglu_backward"))
                .mem(bg).i64(gateOff).mem(bu).i64(upOff).mem(bdo).i64(dOutOff)
                .mem(bdg).i64(dGateOff).mem(bdu).i64(dUpOff).i64(n)
                .elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void embeddingBackward(DeviceBuffer ids, long idsOff, int rows, DeviceBuffer dOut,
                                               long dOutOff, int dim, DeviceBuffer dTable, long dTableOff) {
        ensureOpen();
        if (dim <= 0 || rows < 0) {
            throw new IllegalArgumentException("bad embeddingBackward shape rows=" + rows + " dim=" + dim);
        }
        OpenClBuffer bids = operand(ids, idsOff, rows, DType.I32, "ids");
        OpenClBuffer bdo = operand(dOut, dOutOff, (long) rows * dim, DType.F32, "dOut");
        OpenClBuffer bt = operand(dTable, dTableOff, dim, DType.F32, "embedding gradient");
        // The ids live on the device; the kernel skips any outside the table instead of writing past it.
        long vocab = (dTable.bytes() / Float.BYTES - dTableOff) / dim;
        if (rows == 0) {
            return;
        }
        launch.of(training().kernel("embedding_backward"))
                .mem(bids).i64(idsOff).i32(rows).mem(bdo).i64(dOutOff).i32(dim).i64(vocab).mem(bt).i64(dTableOff)
                .elements(dim, EMBEDDING_WG);
    }

    @Override
    public synchronized void crossEntropy(DeviceBuffer logits, long off, int rows, int cols, DeviceBuffer targets,
                                          long targetsOff, DeviceBuffer weights, long weightsOff,
                                          DeviceBuffer losses, long lossesOff) {
        ensureOpen();
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("bad crossEntropy shape rows=" + rows + " cols=" + cols);
        }
        OpenClBuffer bl = operand(logits, off, (long) rows * cols, DType.F32, "logits");
        OpenClBuffer bt = operand(targets, targetsOff, rows, DType.I32, "targets");
        OpenClBuffer bw = operand(weights, weightsOff, rows, DType.F32, "weights");
        OpenClBuffer bloss = operand(losses, lossesOff, rows, DType.F32, "losses");
        if (rows == 0) {
            return;
        }
        launch.of(training().kernel("cross_entropy"))
                .mem(bl).i64(off).i32(cols).mem(bt).i64(targetsOff).mem(bw).i64(weightsOff)
                .mem(bloss).i64(lossesOff)
                .groups(rows, 1, ROW_WG, 1);
    }

    /**
     * Two passes (see training.cl): one work-group per (query token, head) saves each row's
     * statistics (max, 1/sum, D) to the scratch and adds dq; then one per (key, KV head)
     * recomputes p and ds from them and adds dk, dv. {@code out} is checked but not read: D is
     * computed from p and dp, as the CPU backend does.
     */
    @Override
    public synchronized void attentionBackward(DeviceBuffer q, long qOff, DeviceBuffer k, long kOff,
                                               DeviceBuffer v, long vOff, DeviceBuffer out, long outOff,
                                               DeviceBuffer dOut, long dOutOff, DeviceBuffer dq, long dqOff,
                                               DeviceBuffer dk, long dkOff, DeviceBuffer dv, long dvOff,
                                               AttentionShape s) {
        ensureOpen();
        if (s.startPos() != 0) {
            throw new IllegalArgumentException("attention backward needs startPos 0, got " + s);
        }
        int d = s.headDim();
        if (d > ATT_MAX_HEAD_DIM) {
            throw new IllegalArgumentException("the OpenCL attention kernels take head_dim <= " + ATT_MAX_HEAD_DIM
                    + ", not " + d);
        }
        long n = (long) s.tokens() * s.heads() * d;
        long kv = (long) s.tokens() * s.kvHeads() * d;
        OpenClBuffer bq = operand(q, qOff, n, DType.F32, "q");
        OpenClBuffer bk = operand(k, kOff, kv, DType.F32, "k");
        OpenClBuffer bv = operand(v, vOff, kv, DType.F32, "v");
        operand(out, outOff, n, DType.F32, "out");
        OpenClBuffer bdo = operand(dOut, dOutOff, n, DType.F32, "dOut");
        OpenClBuffer bdq = operand(dq, dqOff, n, DType.F32, "dq");
        OpenClBuffer bdk = operand(dk, dkOff, kv, DType.F32, "dk");
        OpenClBuffer bdv = operand(dv, dvOff, kv, DType.F32, "dv");
        if (s.tokens() == 0) {
            return;
        }
        // Three floats per (token, head). The scratch is shared with rmsNormBackward; the in-order
        // queue runs the second pass, which reads it, before any later call's kernels write it.
        OpenClBuffer stats = trainingScratch(3L * Float.BYTES * s.tokens() * s.heads());
        OpenClProgram p = training();
        launch.of(p.kernel("attention_backward_queries"))
                .mem(bq).i64(qOff).mem(bk).i64(kOff).mem(bv).i64(vOff).mem(bdo).i64(dOutOff).mem(bdq).i64(dqOff)
                .mem(stats).i32(s.tokens()).i32(s.heads()).i32(s.kvHeads()).i32(d).f32(s.scale())
                .groups(s.tokens(), s.heads(), ATT_WG, 1);
        launch.of(p.kernel("attention_backward_keys"))
                .mem(bq).i64(qOff).mem(bk).i64(kOff).mem(bv).i64(vOff).mem(bdo).i64(dOutOff).mem(stats)
                .mem(bdk).i64(dkOff).mem(bdv).i64(dvOff)
                .i32(s.tokens()).i32(s.heads()).i32(s.kvHeads()).i32(d).f32(s.scale())
                .groups(s.tokens(), s.kvHeads(), ATT_WG, 1);
    }

    @Override
    public synchronized void adamW(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff,
                                   DeviceBuffer m, long mOff, DeviceBuffer v, long vOff, long n, AdamWStep step) {
        ensureOpen();
        OpenClBuffer bp = operand(param, paramOff, n, DType.F32, "param");
        OpenClBuffer bg = operand(grad, gradOff, n, DType.F32, "grad");
        OpenClBuffer bm = operand(m, mOff, n, DType.F32, "m");
        OpenClBuffer bv = operand(v, vOff, n, DType.F32, "v");
        if (n == 0) {
            return;
        }
        launch.of(training().kernel("adam_w"))
                .mem(bp).i64(paramOff).mem(bg).i64(gradOff).mem(bm).i64(mOff).mem(bv).i64(vOff).i64(n)
                .f32(step.decay()).i32(step.smallLerp() ? 1 : 0).f32(step.lerpCoefficient()).f32(step.beta2())
                .f32(step.oneMinusBeta2()).f32(step.bc2Sqrt()).f32(step.eps()).f32(step.negStepSize())
                .elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized void sgd(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff,
                                 DeviceBuffer momentum, long momentumOff, long n, SgdStep step) {
        ensureOpen();
        step.requireBuffer(momentum);
        OpenClBuffer bp = operand(param, paramOff, n, DType.F32, "param");
        OpenClBuffer bg = operand(grad, gradOff, n, DType.F32, "grad");
        // Without momentum the kernel never reads its buffer argument: the gradient stands in.
        OpenClBuffer bb = momentum == null ? bg : operand(momentum, momentumOff, n, DType.F32, "momentum");
        if (n == 0) {
            return;
        }
        launch.of(training().kernel("sgd"))
                .mem(bp).i64(paramOff).mem(bg).i64(gradOff).mem(bb).i64(momentum == null ? gradOff : momentumOff).i64(n)
                .i32(step.hasMomentum() ? 1 : 0).i32(step.first() ? 1 : 0).f32(step.momentum())
                .f32(step.weightDecay()).f32(step.negLr())
                .elements(n, ELEMENT_WG);
    }

    @Override
    public synchronized double sumOfSquares(DeviceBuffer x, long xOff, long n) {
        ensureOpen();
        OpenClBuffer bx = operand(x, xOff, n, DType.F32, "x");
        if (n == 0) {
            return 0;
        }
        long blocks = SumOfSquares.blocks(n);
        OpenClBuffer partials = trainingScratch(4L * blocks);
        launch.of(training().kernel("sum_of_squares"))
                .mem(bx).i64(xOff).i64(n).mem(partials).i64(0)
                .groups(blocks, 1, SumOfSquares.GROUP, 1);
        return SumOfSquares.addBlockSums(this, partials, blocks);
    }

    @Override
    public synchronized double[] sumsOfSquares(List<DeviceBuffer> xs, long[] offs, long[] ns) {
        ensureOpen();
        long[] blocks = SumOfSquares.blocks(xs, offs, ns);
        long total = Arrays.stream(blocks).sum();
        OpenClBuffer[] operands = new OpenClBuffer[ns.length];
        for (int i = 0; i < ns.length; i++) {
            operands[i] = operand(xs.get(i), offs[i], ns[i], DType.F32, "x");
        }
        if (total == 0) {
            return new double[ns.length];
        }
        OpenClBuffer partials = trainingScratch(4L * total);
        for (int i = 0, first = 0; i < ns.length; first += blocks[i], i++) {
            if (ns[i] > 0) {
                launch.of(training().kernel("sum_of_squares"))
                        .mem(operands[i]).i64(offs[i]).i64(ns[i]).mem(partials).i64(first)
                        .groups(blocks[i], 1, SumOfSquares.GROUP, 1);
            }
        }
        return SumOfSquares.addBlockSums(this, partials, blocks);
    }

    /**
     * The training program, built on first use so that inference never compiles it. Where the
     * device offers correctly rounded float division and sqrt it is built with them, so AdamW's
     * update rounds as the CPU's (and torch's) does; elsewhere they are OpenCL's few-ulp versions.
     */
    private OpenClProgram training() {
        if (training == null) {
            boolean exact = (cl.deviceLong(entry.device(), OpenCl.DEVICE_SINGLE_FP_CONFIG)
                    & OpenCl.FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
            training = build("training", OpenClProgram.source("prelude.cl") + OpenClProgram.source("training.cl"),
                    exact ? "-cl-fp32-correctly-rounded-divide-sqrt" : "");
        }
        return training;
    }

    /** A scratch buffer of at least {@code bytes} for the training kernels (in-order queue: safe to reuse). */
    private OpenClBuffer trainingScratch(long bytes) {
        trainingScratch = atLeast(trainingScratch, bytes);
        return trainingScratch;
    }

    // ---- Close ----

    /** Waits for queued work, then releases everything the device created; buffers handed out stay the caller's. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (queue != null) {
                cl.finish(queue);
            }
        } finally {
            for (OpenClBuffer b : ropeFrequencies.values()) {
                b.close();
            }
            ropeFrequencies.clear();
            if (attentionPartials != null) {
                attentionPartials.close();
            }
            if (trainingScratch != null) {
                trainingScratch.close();
            }
            for (OpenClProgram p : matmul.values()) {
                p.close();
            }
            matmul.clear();
            if (common != null) {
                common.close();
            }
            if (training != null) {
                training.close();
            }
            if (queue != null) {
                cl.releaseQueue(queue);
            }
            if (context != null) {
                cl.releaseContext(context);
            }
            arena.close();
        }
    }

    @Override
    public String toString() {
        return description;
    }
}
