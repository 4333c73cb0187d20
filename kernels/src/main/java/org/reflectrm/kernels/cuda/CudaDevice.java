package org.reflectrm.kernels.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.AdamWStep;
import org.reflectrm.kernels.device.Allocations;
import org.reflectrm.kernels.device.AttentionCall;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.SgdStep;
import org.reflectrm.kernels.device.DeviceException;
import org.reflectrm.kernels.device.DeviceGraph;
import org.reflectrm.kernels.device.KvSlots;
import org.reflectrm.kernels.device.RecordingDevice;
import org.reflectrm.kernels.device.SumOfSquares;
import org.reflectrm.kernels.device.Transfers;

/**
 * The {@link Device} SPI on an NVIDIA GPU: the kernels of {@code reflectrm_kernels.cu}, loaded as
 * PTX through the CUDA driver API (no toolkit needed at runtime, only the driver). Every kernel
 * is queued on one stream in call order.
 *
 * <p>Use from one thread at a time (the thread may change between calls: the context follows
 * it). Buffer operands are checked against their allocation before a launch, so a wrong offset
 * or size fails here instead of faulting on the GPU and poisoning the context.
 */
public final class CudaDevice implements RecordingDevice {
    /** Most rows the GEMV kernels take (the kernels' GEMV_MAX_ROWS); more go to the tiled GEMM. */
    static final int GEMV_MAX_ROWS = 8;
    /** Output columns per GEMV block: one per warp of its 256 threads (GEMV_WARPS). */
    private static final int GEMV_COLUMNS = 8;
    /** GEMM output tile edge (GM_BM = GM_BN, and TC_BM = TC_BN for the tensor-core GEMM). */
    private static final int GEMM_TILE = 64;
    /** The tensor-core GEMM's block: 4 warps (TC_THREADS). */
    private static final int TENSOR_CORE_BLOCK = 128;
    /**
     * {@code -Dreflectrm.cuda.tensorCores=false} keeps BF16 GEMMs on the F32 SIMT kernel even where
     * tensor cores are there (to compare the two; the device check does).
     */
    static final String TENSOR_CORES_PROPERTY = "reflectrm.cuda.tensorCores";
    /** Query rows per attention block (AT_WARPS * AT_ROWS) and the largest head the kernel holds (AT_MAXD). */
    private static final int ATTENTION_ROWS = 16;
    private static final int ATTENTION_MAX_HEAD_DIM = 128;
    /** Attention backward's blocks: a thread per head dimension (AB_THREADS = AT_MAXD). */
    private static final int ATTENTION_BACKWARD_THREADS = 128;
    /** Decode splits the keys into chunks of at least this many (a multiple of the 32-key tile), at most MAX_SPLITS. */
    private static final int SPLIT_KEYS = 128;
    private static final int MAX_SPLITS = 64;
    private static final int MAX_GRID_YZ = 65_535;
    private static final int ELEMENTWISE_BLOCK = 256;
    /**
     * Rows per partial sum of RMSNorm's dw (as the CPU backend's row blocks). Fixed, so the order
     * in which each column is summed does not depend on the GPU.
     */
    private static final int NORM_BACKWARD_ROWS = 32;
    private static final long MAX_ELEMENTWISE_BLOCKS = 1L << 20;

    private final Gpu gpu;
    /** BF16 GEMMs (prefill) run on the tensor cores: the GPU has them and the property allows it. */
    private final boolean tensorCores;
    private final Transfers transfers = new Transfers();
    private final Allocations allocations = new Allocations();
    private final Arena arena = Arena.ofShared();
    private final KernelArgs args;
    /**
     * Device memory for intermediate results that no caller sees (decode attention's split-KV
     * partials, RMSNorm backward's per-block dw sums, attention backward's row statistics), grown
     * on demand. One buffer serves every
     * kernel: they run in order on one stream, so each user is done with it before the next starts.
     */
    private CudaBuffer scratch;
    private boolean closed;

    CudaDevice(Gpu gpu) {
        this.gpu = gpu;
        this.args = new KernelArgs(arena);
        this.tensorCores = gpu.tensorCores()
                && Boolean.parseBoolean(System.getProperty(TENSOR_CORES_PROPERTY, "true"));
    }

    /**
     * One line per CUDA GPU, "ordinal: name, compute capability X.Y, N GiB"; empty when there is no
     * NVIDIA driver or it sees no device.
     */
    public static List<String> list() {
        try {
            Cuda cuda = Cuda.get();
            int count = cuda.deviceCount();
            List<String> lines = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                lines.add(CudaContext.describe(cuda, i));
            }
            return List.copyOf(lines);
        } catch (DeviceException e) {
            return List.of();
        }
    }

    /** Opens the GPU at {@code ordinal} (as in {@link #list()}); a {@link DeviceException} says why it cannot. */
    public static CudaDevice open(int ordinal) {
        return new CudaDevice(CudaContext.open(ordinal));
    }

    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public String description() {
        return gpu.description();
    }

    @Override
    public long memoryBytes() {
        return gpu.memoryBytes();
    }

    @Override
    public DeviceBuffer allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative allocation " + bytes);
        }
        requireOpen();
        requireNotRecording("allocate");
        CudaBuffer b = new CudaBuffer(gpu, this, gpu.allocate(Math.max(bytes, 1)), bytes);
        allocations.allocated(bytes);
        return b;
    }

    @Override
    public void upload(MemorySegment src, DeviceBuffer dst, long dstByteOffset) {
        requireNotRecording("upload");
        long n = src.byteSize();
        long address = at(dst, dstByteOffset, n, 1, "upload destination") + dstByteOffset;
        transfers.countUpload(n);
        if (n == 0) {
            return;
        }
        if (src.isNative()) {
            gpu.upload(src, address);
            return;
        }
        // The driver reads native memory only: stage a heap segment.
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment tmp = staging.allocate(n, 16);
            tmp.copyFrom(src);
            gpu.upload(tmp, address);
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
    public void download(DeviceBuffer src, long srcByteOffset, MemorySegment dst) {
        requireNotRecording("download");
        long n = dst.byteSize();
        long address = at(src, srcByteOffset, n, 1, "download source") + srcByteOffset;
        transfers.countDownload(n);
        if (n == 0) {
            gpu.synchronize();
            return;
        }
        if (dst.isNative()) {
            gpu.download(address, dst);
            return;
        }
        try (Arena staging = Arena.ofConfined()) {
            MemorySegment tmp = staging.allocate(n, 16);
            gpu.download(address, tmp);
            dst.copyFrom(tmp);
        }
    }

    @Override
    public void synchronize() {
        requireOpen();
        requireNotRecording("synchronize");
        gpu.synchronize();
    }

    // ---- Kernels ----

    @Override
    public void linear(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                       DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate) {
        linearFamily(Kernel.Linear.PLAIN, x, xOff, null, 0, DType.F32, 0f, w, wOff, wType, y, yOff,
                rows, out, in, accumulate);
    }

    @Override
    public void rmsNormLinear(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType, float eps,
                              DeviceBuffer w, long wOff, DType wType, DeviceBuffer y, long yOff,
                              int rows, int out, int in) {
        linearFamily(Kernel.Linear.RMS, x, xOff, gamma, gammaOff, gammaType, eps, w, wOff, wType, y, yOff,
                rows, out, in, false);
    }

    @Override
    public void rmsNormGateUpSwiglu(DeviceBuffer x, long xOff, DeviceBuffer gamma, long gammaOff, DType gammaType,
                                    float eps, DeviceBuffer wGateUp, long wOff, DType wType,
                                    DeviceBuffer out, long outOff, int rows, int inter, int in) {
        linearFamily(Kernel.Linear.GATE_UP, x, xOff, gamma, gammaOff, gammaType, eps, wGateUp, wOff, wType,
                out, outOff, rows, inter, in, false);
    }

    /**
     * The three linear kernels share one parameter list; {@code out} is the output width (the
     * intermediate size for gate/up, whose weight has {@code 2 * out} rows).
     */
    private void linearFamily(Kernel.Linear variant, DeviceBuffer x, long xOff, DeviceBuffer gamma, long gOff,
                              DType gType, float eps, DeviceBuffer w, long wOff, DType wType,
                              DeviceBuffer y, long yOff, int rows, int out, int in, boolean accumulate) {
        requireNonNegative(rows, out, in);
        if (rows == 0 || out == 0) {
            return;
        }
        boolean gemv = rows <= GEMV_MAX_ROWS;
        boolean tc = !gemv && tensorCores && wType == DType.BF16;
        Kernel kernel = tc ? Kernel.tensorCoreLinear(variant) : Kernel.linear(variant, gemv, wType);
        long weightRows = variant == Kernel.Linear.GATE_UP ? 2L * out : out;
        args.reset()
                .ptr(at(x, xOff, (long) rows * in, 4, "x")).i64(xOff)
                .ptr(at(w, wOff, weightRows * in, wType.byteSize(), "weight")).i64(wOff);
        if (variant == Kernel.Linear.PLAIN) {
            args.ptr(0).i64(0).i32(0).f32(0f);
        } else {
            args.ptr(at(gamma, gOff, in, gType.byteSize(), "gamma")).i64(gOff).i32(typeCode(gType)).f32(eps);
        }
        args.ptr(at(y, yOff, (long) rows * out, 4, "y")).i64(yOff)
                .i32(rows).i32(out).i32(in).i32(accumulate ? 1 : 0);
        if (gemv) {
            launch(kernel, ceilDiv(out, GEMV_COLUMNS), 1, 1, 256);
        } else {
            launch(kernel, ceilDiv(out, GEMM_TILE), ceilDiv(rows, GEMM_TILE), 1, tc ? TENSOR_CORE_BLOCK : 256);
        }
    }

    @Override
    public void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                         DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType,
                         float eps, DeviceBuffer positions, long posOff, float theta,
                         DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff) {
        splitQkv(qkv, qkvOff, rows, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps,
                positions, posOff, theta, q, qOff, kCache, kOff, vCache, vOff, false, rows);
    }

    @Override
    public void splitQkvAtPositions(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                                    DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                    DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                    DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                                    long vOff, int slots) {
        requireNonNegative(slots);
        splitQkv(qkv, qkvOff, rows, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps,
                positions, posOff, theta, q, qOff, kCache, kOff, vCache, vOff, true, slots);
    }

    /**
     * A batch of one-row sequences (a decode step) splits in one launch of
     * {@code split_qkv_batch}, each row into its own cache through the table of caches that
     * {@code attention_batch} reads too; other batches go one sequence at a time.
     */
    @Override
    public void splitQkvAtPositions(DeviceBuffer qkv, long qkvOff, int heads, int kvHeads, int headDim,
                                    DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                    DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                    DeviceBuffer q, long qOff, int[] rows, List<KvSlots> caches) {
        int batch = rows.length;
        boolean oneRowEach = batch >= 2 && batch == caches.size();
        for (int r : rows) {
            oneRowEach &= r == 1;
        }
        if (!oneRowEach) {
            RecordingDevice.super.splitQkvAtPositions(qkv, qkvOff, heads, kvHeads, headDim, qNorm, qNormOff, kNorm,
                    kNormOff, normType, eps, positions, posOff, theta, q, qOff, rows, caches);
            return;
        }
        requireNonNegative(heads, kvHeads, headDim);
        requireEven(headDim);
        long table = sequenceTable(caches, (long) kvHeads * headDim);
        splitQkvArgs(qkv, qkvOff, batch, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps,
                positions, posOff, theta, q, qOff).ptr(table);
        launch(Kernel.SPLIT_QKV_BATCH, batch, heads + 2L * kvHeads, 1, threads(headDim / 2, 128));
    }

    /** The cache holds {@code slots} rows from kOff/vOff: rows from the first one, or all the slots by position. */
    private void splitQkv(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                          DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType,
                          float eps, DeviceBuffer positions, long posOff, float theta, DeviceBuffer q, long qOff,
                          DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff, boolean byPosition,
                          int slots) {
        requireNonNegative(rows, heads, kvHeads, headDim);
        requireEven(headDim);
        if (rows == 0) {
            return;
        }
        long kvDim = (long) kvHeads * headDim;
        splitQkvArgs(qkv, qkvOff, rows, heads, kvHeads, headDim, qNorm, qNormOff, kNorm, kNormOff, normType, eps,
                positions, posOff, theta, q, qOff)
                .ptr(at(kCache, kOff, slots * kvDim, 4, "kCache")).i64(kOff)
                .ptr(at(vCache, vOff, slots * kvDim, 4, "vCache")).i64(vOff)
                .i32(byPosition ? 1 : 0).i32(slots);
        launch(Kernel.SPLIT_QKV, rows, heads + 2L * kvHeads, 1, threads(headDim / 2, 128));
    }

    /** The arguments split_qkv and split_qkv_batch share, up to q; each adds where k and v go. */
    private KernelArgs splitQkvArgs(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                                    DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                    DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                    DeviceBuffer q, long qOff) {
        long qDim = (long) heads * headDim, kvDim = (long) kvHeads * headDim;
        return args.reset()
                .ptr(at(qkv, qkvOff, rows * (qDim + 2 * kvDim), 4, "qkv")).i64(qkvOff)
                .i32(heads).i32(kvHeads).i32(headDim)
                .ptr(at(qNorm, qNormOff, headDim, normType.byteSize(), "qNorm")).i64(qNormOff)
                .ptr(at(kNorm, kNormOff, headDim, normType.byteSize(), "kNorm")).i64(kNormOff)
                .i32(typeCode(normType)).f32(eps)
                .ptr(at(positions, posOff, rows, 4, "positions")).i64(posOff).f32(theta)
                .ptr(at(q, qOff, rows * qDim, 4, "q")).i64(qOff);
    }

    @Override
    public void embedding(DeviceBuffer table, long tableOff, DType tableType, int dim,
                          DeviceBuffer ids, long idsOff, int rows, DeviceBuffer out, long outOff) {
        requireNonNegative(dim, rows);
        if (rows == 0 || dim == 0) {
            return;
        }
        Kernel kernel = Kernel.embedding(tableType);
        // The ids are on the device: only the first table row can be checked here.
        args.reset()
                .ptr(at(table, tableOff, dim, tableType.byteSize(), "table")).i64(tableOff).i32(dim)
                .ptr(at(ids, idsOff, rows, 4, "ids")).i64(idsOff)
                .ptr(at(out, outOff, (long) rows * dim, 4, "out")).i64(outOff);
        launch(kernel, rows, ceilDiv(dim, 256), 1, 256);
    }

    @Override
    public void rmsNorm(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                        DeviceBuffer y, long yOff, int rows, int dim, float eps) {
        requireNonNegative(rows, dim);
        if (rows == 0 || dim == 0) {
            return;
        }
        args.reset()
                .ptr(at(x, xOff, (long) rows * dim, 4, "x")).i64(xOff)
                .ptr(at(w, wOff, dim, wType.byteSize(), "weight")).i64(wOff).i32(typeCode(wType))
                .ptr(at(y, yOff, (long) rows * dim, 4, "y")).i64(yOff)
                .i32(dim).f32(eps);
        launch(Kernel.RMS_NORM, rows, 1, 1, threads(dim, 256));
    }

    @Override
    public void rope(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                     DeviceBuffer positions, long posOff, float theta) {
        rotate(Kernel.ROPE, x, xOff, rows, heads, headDim, positions, posOff, theta);
    }

    /** RoPE or its inverse: the same parameters and shape. */
    private void rotate(Kernel kernel, DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                        DeviceBuffer positions, long posOff, float theta) {
        requireNonNegative(rows, heads, headDim);
        requireEven(headDim);
        if (rows == 0 || heads == 0 || headDim == 0) {
            return;
        }
        args.reset()
                .ptr(at(x, xOff, (long) rows * heads * headDim, 4, "x")).i64(xOff)
                .i32(heads).i32(headDim)
                .ptr(at(positions, posOff, rows, 4, "positions")).i64(posOff).f32(theta);
        launch(kernel, rows, heads, 1, threads(headDim / 2, 128));
    }

    @Override
    public void swiglu(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                       DeviceBuffer out, long outOff, long n) {
        binary(Kernel.SWIGLU, gate, gateOff, up, upOff, out, outOff, n);
    }

    @Override
    public void add(DeviceBuffer a, long aOff, DeviceBuffer b, long bOff, DeviceBuffer out, long outOff, long n) {
        binary(Kernel.ADD, a, aOff, b, bOff, out, outOff, n);
    }

    private void binary(Kernel kernel, DeviceBuffer a, long aOff, DeviceBuffer b, long bOff,
                        DeviceBuffer out, long outOff, long n) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset()
                .ptr(at(a, aOff, n, 4, "a")).i64(aOff)
                .ptr(at(b, bOff, n, 4, "b")).i64(bOff)
                .ptr(at(out, outOff, n, 4, "out")).i64(outOff).i64(n);
        launch(kernel, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOff, DeviceBuffer dst, long dstOff, long n) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset()
                .ptr(at(src, srcOff, n, 4, "src")).i64(srcOff)
                .ptr(at(dst, dstOff, n, 4, "dst")).i64(dstOff).i64(n);
        launch(Kernel.COPY_F32, elementwiseBlocks((n + 3) / 4), 1, 1, ELEMENTWISE_BLOCK);  // 4 floats a thread
    }

    @Override
    public void scale(DeviceBuffer a, long aOff, float s, DeviceBuffer out, long outOff, long n) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset()
                .ptr(at(a, aOff, n, 4, "a")).i64(aOff).f32(s)
                .ptr(at(out, outOff, n, 4, "out")).i64(outOff).i64(n);
        launch(Kernel.SCALE, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void zero(DeviceBuffer x, long xOff, long n) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset().ptr(at(x, xOff, n, 4, "x")).i64(xOff).i64(n);
        launch(Kernel.ZERO_F32, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void softmax(DeviceBuffer x, long xOff, int rows, int cols) {
        requireNonNegative(rows, cols);
        if (rows == 0 || cols == 0) {
            return;
        }
        args.reset().ptr(at(x, xOff, (long) rows * cols, 4, "x")).i64(xOff).i32(cols);
        launch(Kernel.SOFTMAX_ROWS, rows, 1, 1, threads(cols, 1024));
    }

    @Override
    public void argmax(DeviceBuffer x, long xOff, int rows, int cols, DeviceBuffer out, long outOff) {
        requireNonNegative(rows, cols);
        if (rows == 0) {
            return;
        }
        if (cols == 0) {
            throw new IllegalArgumentException("argmax of an empty row");
        }
        args.reset()
                .ptr(at(x, xOff, (long) rows * cols, 4, "x")).i64(xOff).i32(cols)
                .ptr(at(out, outOff, rows, 4, "out")).i64(outOff);
        launch(Kernel.ARGMAX_ROWS, rows, 1, 1, threads(cols, 1024));
    }

    @Override
    public void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                          DeviceBuffer out, long outOff, AttentionShape shape) {
        int keys = Math.addExact(shape.startPos(), shape.tokens());
        attention(q, qOff, kCache, kOff, vCache, vOff, out, outOff, shape, 0, 0, keys);
    }

    @Override
    public void attentionAtPositions(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                                     long vOff, DeviceBuffer out, long outOff, AttentionShape shape,
                                     DeviceBuffer positions, long posOff, int slots) {
        RecordingDevice.requireSlots(shape, slots);
        if (shape.tokens() == 0) {
            return;
        }
        long positionsAddress = at(positions, posOff, shape.tokens(), 4, "positions");
        attention(q, qOff, kCache, kOff, vCache, vOff, out, outOff, shape, positionsAddress, posOff, slots);
    }

    /**
     * A batch of one-token sequences (a decode step) attends in one launch of
     * {@code attention_batch} (and one merge), where one launch per sequence would leave most of
     * the GPU idle: each sequence has a single query row per head. The kernel finds each
     * sequence's caches in a device table of their addresses, uploaded the first time a batch of
     * caches is seen (so a recording needs the step run once unrecorded first, as for scratch).
     * Other batches go one call at a time.
     */
    @Override
    public void attentionAtPositions(List<AttentionCall> calls, DeviceBuffer positions, long posOff, int[] slots) {
        if (!batchable(calls) || slots.length != calls.size()) {
            RecordingDevice.super.attentionAtPositions(calls, positions, posOff, slots);
            return;
        }
        AttentionCall first = calls.getFirst();
        AttentionShape shape = first.shape();
        int batch = calls.size(), heads = shape.heads(), kvHeads = shape.kvHeads(), d = shape.headDim();
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw new IllegalArgumentException("CUDA attention supports head_dim up to " + ATTENTION_MAX_HEAD_DIM
                    + ", got " + d);
        }
        List<KvSlots> caches = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            AttentionCall c = calls.get(i);
            RecordingDevice.requireSlots(c.shape(), slots[i]);
            caches.add(new KvSlots(c.k(), c.kOff(), c.v(), c.vOff(), slots[i]));
        }
        long qCount = (long) batch * heads * d;
        long positionsAddress = at(positions, posOff, batch, 4, "positions");
        // Each sequence splits its keys by its own plan (so its bits do not depend on the batch);
        // the launch covers the most splits any of them has.
        int splits = 1;
        for (int slot : slots) {
            splits = Math.max(splits, ceilDiv(slot, keysPerSplit(slot)));
        }
        long rowsTotal = qCount / d;
        long table = sequenceTable(caches, kvHeads * (long) d);
        long part = splits > 1 ? scratch(4L * splits * rowsTotal * (d + 2)) : 0;
        long outAddress = at(first.out(), first.outOff(), qCount, 4, "out");
        args.reset()
                .ptr(at(first.q(), first.qOff(), qCount, 4, "q")).i64(first.qOff())
                .ptr(table)
                .ptr(outAddress).i64(first.outOff())
                .ptr(part)
                .i32(batch).i32(heads).i32(kvHeads).i32(d).f32(shape.scale())
                .ptr(positionsAddress).i64(posOff);
        launch(Kernel.ATTENTION_BATCH, (long) batch * ceilDiv(shape.group(), ATTENTION_ROWS), kvHeads, splits, 128);
        mergeSplits(part, splits, rowsTotal, d, outAddress, first.outOff());
    }

    /**
     * Whether {@code calls} can attend in one launch: at least two sequences of one token each,
     * F32 caches without a shared prefix, one shape, and query and output rows one after another.
     */
    private static boolean batchable(List<AttentionCall> calls) {
        if (calls.size() < 2) {
            return false;
        }
        AttentionCall first = calls.getFirst();
        AttentionShape s0 = first.shape();
        long rowSize = (long) s0.heads() * s0.headDim();
        for (int i = 0; i < calls.size(); i++) {
            AttentionCall c = calls.get(i);
            AttentionShape s = c.shape();
            if (s.tokens() != 1 || c.prefixLength() != 0 || c.kvType() != DType.F32
                    || s.heads() != s0.heads() || s.kvHeads() != s0.kvHeads() || s.headDim() != s0.headDim()
                    || s.scale() != s0.scale() || c.q() != first.q() || c.out() != first.out()
                    || c.qOff() != first.qOff() + i * rowSize || c.outOff() != first.outOff() + i * rowSize) {
                return false;
            }
        }
        return true;
    }

    /** Most tables of cache addresses kept (a batch has one per layer); past it, all are freed. */
    private static final int MAX_SEQUENCE_TABLES = 1024;
    /** Device tables of KV-cache addresses for {@code attention_batch}, by their contents. */
    private final Map<SequenceTable, CudaBuffer> sequenceTables = new HashMap<>();

    private record SequenceTable(long[] addresses) {
        @Override
        public boolean equals(Object o) {
            return o instanceof SequenceTable t && Arrays.equals(addresses, t.addresses);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(addresses);
        }
    }

    /**
     * The device address of the table of {@code caches} (rows of {@code kvRow} floats) that
     * {@code attention_batch} and {@code split_qkv_batch} read: per sequence, the addresses of its
     * key and value slot 0, its slots, and the keys per split of its decode attention. Uploaded
     * the first time it is asked for.
     */
    private long sequenceTable(List<KvSlots> caches, long kvRow) {
        long[] addresses = new long[4 * caches.size()];
        for (int i = 0; i < caches.size(); i++) {
            KvSlots c = caches.get(i);
            addresses[4 * i] = at(c.k(), c.kOff(), c.slots() * kvRow, 4, "kCache") + 4 * c.kOff();
            addresses[4 * i + 1] = at(c.v(), c.vOff(), c.slots() * kvRow, 4, "vCache") + 4 * c.vOff();
            addresses[4 * i + 2] = c.slots();
            addresses[4 * i + 3] = keysPerSplit(c.slots());
        }
        SequenceTable key = new SequenceTable(addresses);
        CudaBuffer table = sequenceTables.get(key);
        if (table == null) {
            requireNotRecording("uploading a batch's table of KV caches (run the step once unrecorded first)");
            if (sequenceTables.size() >= MAX_SEQUENCE_TABLES) {
                freeSequenceTables();
            }
            long bytes = 8L * addresses.length;
            table = new CudaBuffer(gpu, null, gpu.allocate(bytes), bytes);
            try (Arena staging = Arena.ofConfined()) {
                MemorySegment host = staging.allocate(bytes, 8);
                MemorySegment.copy(addresses, 0, host, ValueLayout.JAVA_LONG, 0, addresses.length);
                gpu.upload(host, table.address(gpu));
            }
            transfers.countUpload(bytes);
            sequenceTables.put(key, table);
        }
        return table.address(gpu);
    }

    private void freeSequenceTables() {
        generation++;              // recordings may read them
        gpu.synchronize();         // and queued kernels too
        sequenceTables.values().forEach(CudaBuffer::close);
        sequenceTables.clear();
    }

    /**
     * With {@code positions == 0} the kernel takes the first position from the shape; else from
     * device memory. The keys are split (decode) and bounds-checked for {@code planKeys}.
     */
    private void attention(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                           DeviceBuffer out, long outOff, AttentionShape shape, long positions, long posOff,
                           int planKeys) {
        int tokens = shape.tokens(), heads = shape.heads(), kvHeads = shape.kvHeads(), d = shape.headDim();
        if (tokens == 0) {
            return;
        }
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw new IllegalArgumentException("CUDA attention supports head_dim up to " + ATTENTION_MAX_HEAD_DIM
                    + ", got " + d);
        }
        long qCount = (long) tokens * heads * d;
        long kvCount = (long) planKeys * kvHeads * d;
        // Decode has one query row per head: without splitting the keys, a handful of blocks
        // would walk the whole cache. Each split's partial softmax is merged afterwards.
        int perSplit = tokens == 1 ? keysPerSplit(planKeys) : planKeys;
        int splits = ceilDiv(planKeys, perSplit);
        long rowsTotal = (long) tokens * heads;
        long part = splits > 1 ? scratch(4L * splits * rowsTotal * (d + 2)) : 0;
        long outAddress = at(out, outOff, qCount, 4, "out");
        args.reset()
                .ptr(at(q, qOff, qCount, 4, "q")).i64(qOff)
                .ptr(at(kCache, kOff, kvCount, 4, "kCache")).i64(kOff)
                .ptr(at(vCache, vOff, kvCount, 4, "vCache")).i64(vOff)
                .ptr(outAddress).i64(outOff)
                .ptr(part)
                .i32(tokens).i32(shape.startPos()).i32(heads).i32(kvHeads).i32(d)
                .f32(shape.scale()).i32(perSplit)
                .ptr(positions).i64(positions == 0 ? 0 : posOff);
        launch(Kernel.ATTENTION, ceilDiv((long) tokens * shape.group(), ATTENTION_ROWS), kvHeads, splits, 128);
        mergeSplits(part, splits, rowsTotal, d, outAddress, outOff);
    }

    /** Combines split-KV decode's partials into the output rows; nothing to do for one split. */
    private void mergeSplits(long part, int splits, long rowsTotal, int d, long outAddress, long outOff) {
        if (splits > 1) {
            args.reset().ptr(part).i32(splits).i32((int) rowsTotal).i32(d).ptr(outAddress).i64(outOff);
            launch(Kernel.ATTENTION_MERGE, rowsTotal, 1, 1, threads(d, 128));
        }
    }

    /**
     * How many keys each split of a decode attention over {@code keys} keys takes: all of them up
     * to {@link #SPLIT_KEYS}, else chunks of a multiple of the 32-key tile, at most
     * {@link #MAX_SPLITS} of them.
     */
    private static int keysPerSplit(int keys) {
        if (keys <= SPLIT_KEYS) {
            return Math.max(keys, 1);
        }
        int wanted = Math.min(MAX_SPLITS, ceilDiv(keys, SPLIT_KEYS));
        return ceilDiv(ceilDiv(keys, wanted), 32) * 32;
    }

    // ---- Recording (CUDA graphs) ----

    private boolean recording;
    /** Bumped whenever memory that recorded launches may use is replaced. */
    private long generation;

    private void requireNotRecording(String what) {
        if (recording) {
            throw new IllegalStateException(what + " is not allowed while recording launches");
        }
    }

    @Override
    public void beginRecording() {
        requireOpen();
        if (recording) {
            throw new IllegalStateException("already recording");
        }
        gpu.beginCapture();
        recording = true;
    }

    @Override
    public DeviceGraph endRecording() {
        requireOpen();
        if (!recording) {
            throw new IllegalStateException("not recording");
        }
        recording = false;
        MemorySegment exec = gpu.endCapture();
        long recordedIn = generation;
        return new DeviceGraph() {
            private boolean closed;

            @Override
            public boolean isValid() {
                return !closed && recordedIn == generation;
            }

            @Override
            public void launch() {
                if (!isValid()) {
                    throw new IllegalStateException(closed ? "the graph is closed"
                            : "the graph is stale: a buffer it used was replaced since it was recorded");
                }
                requireOpen();
                gpu.launchGraph(exec);
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    gpu.destroyGraph(exec);
                }
            }
        };
    }

    /** The scratch buffer, at least {@code bytes} long. */
    private long scratch(long bytes) {
        if (scratch == null || scratch.bytes() < bytes) {
            requireNotRecording("growing the scratch buffer (run the step once unrecorded first)");
            generation++;  // graphs recorded before may use the old buffer
            if (scratch != null) {
                gpu.synchronize();  // queued kernels may still use the old one
                scratch.close();
                scratch = null;
            }
            long size = Math.max(bytes, 1L << 20);
            scratch = new CudaBuffer(gpu, null, gpu.allocate(size), size);
        }
        return scratch.address(gpu);
    }

    // ---- Launch plumbing ----

    /** Checks the packed arguments and the launch shape, then queues the kernel. */
    private void launch(Kernel kernel, long gridX, long gridY, long gridZ, int block) {
        requireOpen();
        args.check(kernel);
        if (kernel.block != 0 ? block != kernel.block : block < 32 || block > 1024 || block % 32 != 0) {
            throw new IllegalStateException("kernel " + kernel.symbol + " cannot run blocks of " + block + " threads");
        }
        if (gridX < 1 || gridX > Integer.MAX_VALUE || gridY < 1 || gridY > MAX_GRID_YZ
                || gridZ < 1 || gridZ > MAX_GRID_YZ) {
            throw new IllegalArgumentException("kernel " + kernel.symbol + ": grid " + gridX + "x" + gridY + "x" + gridZ
                    + " is beyond what CUDA launches");
        }
        gpu.launch(kernel, (int) gridX, (int) gridY, (int) gridZ, block, args);
    }

    /**
     * The address of {@code b}, checking that elements {@code [off, off + count)} of
     * {@code elemBytes} bytes lie inside it.
     */
    private long at(DeviceBuffer b, long off, long count, int elemBytes, String what) {
        if (!(b instanceof CudaBuffer buffer)) {
            throw new IllegalArgumentException(what + ": " + b + " is not a CUDA buffer");
        }
        long address = buffer.address(gpu);
        if (off < 0 || count < 0 || (off + count) * elemBytes > buffer.bytes()) {
            throw new IndexOutOfBoundsException(what + ": elements [" + off + ", " + (off + count) + ") of "
                    + elemBytes + " bytes lie outside " + buffer);
        }
        return address;
    }

    /** The kernels' code for a small operand read through a runtime switch (widen_any). */
    static int typeCode(DType type) {
        return switch (type) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new IllegalArgumentException("CUDA kernels read F32, BF16 or F16, not " + type);
        };
    }

    /** A block for about {@code work} threads' worth of work: whole warps, at least one, at most max. */
    private static int threads(int work, int max) {
        return Math.min(max, Math.max(32, (work + 31) / 32 * 32));
    }

    private static long elementwiseBlocks(long n) {
        return Math.min(MAX_ELEMENTWISE_BLOCKS, (n + ELEMENTWISE_BLOCK - 1) / ELEMENTWISE_BLOCK);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static void requireNonNegative(long... sizes) {
        for (long s : sizes) {
            if (s < 0) {
                throw new IllegalArgumentException("negative size " + s);
            }
        }
    }

    private static void requireEven(int headDim) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head_dim, got " + headDim);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the CUDA device is closed");
        }
    }

    // ---- Training ----

    @Override
    public void matmul(DeviceBuffer a, long aOff, boolean transA, DeviceBuffer b, long bOff, DType bType,
                       boolean transB, DeviceBuffer c, long cOff, int m, int n, int k, boolean accumulate) {
        requireNonNegative(m, n, k);
        if (!transA && transB) {
            // The forward's layout is linear's, whose GEMV path serves a few rows far faster.
            linear(a, aOff, b, bOff, bType, c, cOff, m, n, k, accumulate);
            return;
        }
        if (m == 0 || n == 0) {
            return;
        }
        Kernel kernel = Kernel.matmul(bType);
        args.reset()
                .ptr(at(a, aOff, (long) m * k, 4, "a")).i64(aOff).i32(transA ? 1 : 0)
                .ptr(at(b, bOff, (long) k * n, bType.byteSize(), "b")).i64(bOff).i32(transB ? 1 : 0)
                .ptr(at(c, cOff, (long) m * n, 4, "c")).i64(cOff)
                .i32(m).i32(n).i32(k).i32(accumulate ? 1 : 0);
        launch(kernel, ceilDiv(n, GEMM_TILE), ceilDiv(m, GEMM_TILE), 1, 256);
    }

    @Override
    public void rmsNormBackward(DeviceBuffer x, long xOff, DeviceBuffer w, long wOff, DType wType,
                                DeviceBuffer dy, long dyOff, DeviceBuffer dx, long dxOff,
                                DeviceBuffer dw, long dwOff, int rows, int dim, float eps) {
        requireNonNegative(rows, dim);
        if (rows == 0 || dim == 0) {
            return;
        }
        int type = typeCode(wType);
        // Without dw every row is a block of its own; with it, blocks of NORM_BACKWARD_ROWS rows each
        // sum their dw terms into a scratch row, and a second kernel adds those in block order.
        int rowsPerBlock = dw == null ? 1 : NORM_BACKWARD_ROWS;
        int blocks = ceilDiv(rows, rowsPerBlock);
        long dwAddress = dw == null ? 0 : at(dw, dwOff, dim, 4, "dw");
        long partial = dw == null ? 0 : scratch(4L * blocks * dim);
        args.reset()
                .ptr(at(x, xOff, (long) rows * dim, 4, "x")).i64(xOff)
                .ptr(at(w, wOff, dim, wType.byteSize(), "weight")).i64(wOff).i32(type)
                .ptr(at(dy, dyOff, (long) rows * dim, 4, "dy")).i64(dyOff)
                .ptr(at(dx, dxOff, (long) rows * dim, 4, "dx")).i64(dxOff)
                .ptr(partial).i32(rows).i32(rowsPerBlock).i32(dim).f32(eps);
        launch(Kernel.RMS_NORM_BACKWARD, blocks, 1, 1, threads(dim, 256));
        if (dw != null) {
            args.reset().ptr(partial).i32(blocks).i32(dim).ptr(dwAddress).i64(dwOff);
            launch(Kernel.RMS_NORM_BACKWARD_DW, ceilDiv(dim, ELEMENTWISE_BLOCK), 1, 1, ELEMENTWISE_BLOCK);
        }
    }

    @Override
    public void ropeInverse(DeviceBuffer x, long xOff, int rows, int heads, int headDim,
                            DeviceBuffer positions, long posOff, float theta) {
        rotate(Kernel.ROPE_INVERSE, x, xOff, rows, heads, headDim, positions, posOff, theta);
    }

    @Override
    public void swigluBackward(DeviceBuffer gate, long gateOff, DeviceBuffer up, long upOff,
                               DeviceBuffer dOut, long dOutOff, DeviceBuffer dGate, long dGateOff,
                               DeviceBuffer dUp, long dUpOff, long n) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset()
                .ptr(at(gate, gateOff, n, 4, "gate")).i64(gateOff)
                .ptr(at(up, upOff, n, 4, "up")).i64(upOff)
                .ptr(at(dOut, dOutOff, n, 4, "dOut")).i64(dOutOff)
                .ptr(at(dGate, dGateOff, n, 4, "dGate")).i64(dGateOff)
                .ptr(at(dUp, dUpOff, n, 4, "dUp")).i64(dUpOff).i64(n);
        launch(Kernel.SWIGLU_BACKWARD, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void embeddingBackward(DeviceBuffer ids, long idsOff, int rows, DeviceBuffer dOut, long dOutOff, int dim,
                                  DeviceBuffer dTable, long dTableOff) {
        requireNonNegative(rows, dim);
        if (rows == 0 || dim == 0) {
            return;
        }
        // The ids are on the device: the kernel skips any outside the table's rows, counted here.
        long tableAddress = at(dTable, dTableOff, dim, 4, "dTable");
        long vocab = (dTable.bytes() / 4 - dTableOff) / dim;
        args.reset()
                .ptr(at(ids, idsOff, rows, 4, "ids")).i64(idsOff).i32(rows)
                .ptr(at(dOut, dOutOff, (long) rows * dim, 4, "dOut")).i64(dOutOff).i32(dim)
                .ptr(tableAddress).i64(dTableOff).i64(vocab);
        launch(Kernel.EMBEDDING_BACKWARD, ceilDiv(dim, ELEMENTWISE_BLOCK), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void crossEntropy(DeviceBuffer logits, long off, int rows, int cols, DeviceBuffer targets, long targetsOff,
                             DeviceBuffer weights, long weightsOff, DeviceBuffer losses, long lossesOff) {
        requireNonNegative(rows, cols);
        if (rows == 0) {
            return;
        }
        if (cols == 0) {
            throw new IllegalArgumentException("cross-entropy of an empty row");
        }
        args.reset()
                .ptr(at(logits, off, (long) rows * cols, 4, "logits")).i64(off).i32(cols)
                .ptr(at(targets, targetsOff, rows, 4, "targets")).i64(targetsOff)
                .ptr(at(weights, weightsOff, rows, 4, "weights")).i64(weightsOff)
                .ptr(at(losses, lossesOff, rows, 4, "losses")).i64(lossesOff);
        launch(Kernel.CROSS_ENTROPY, rows, 1, 1, threads(cols, 1024));
    }

    @Override
    public void attentionBackward(DeviceBuffer q, long qOff, DeviceBuffer k, long kOff, DeviceBuffer v, long vOff,
                                  DeviceBuffer out, long outOff, DeviceBuffer dOut, long dOutOff,
                                  DeviceBuffer dq, long dqOff, DeviceBuffer dk, long dkOff, DeviceBuffer dv, long dvOff,
                                  AttentionShape shape) {
        if (shape.startPos() != 0) {
            throw new IllegalArgumentException("attention backward needs startPos 0, got " + shape);
        }
        int tokens = shape.tokens(), heads = shape.heads(), kvHeads = shape.kvHeads(), d = shape.headDim();
        if (d > ATTENTION_MAX_HEAD_DIM) {
            throw new IllegalArgumentException("CUDA attention backward supports head_dim up to "
                    + ATTENTION_MAX_HEAD_DIM + ", got " + d);
        }
        if (tokens == 0) {
            return;
        }
        long qCount = (long) tokens * heads * d;
        long kvCount = (long) tokens * kvHeads * d;
        at(out, outOff, qCount, 4, "out");  // not read (D comes from p and dp), but part of the call
        long qAddress = at(q, qOff, qCount, 4, "q"), kAddress = at(k, kOff, kvCount, 4, "k");
        long vAddress = at(v, vOff, kvCount, 4, "v"), dOutAddress = at(dOut, dOutOff, qCount, 4, "dOut");
        long dqAddress = at(dq, dqOff, qCount, 4, "dq"), dkAddress = at(dk, dkOff, kvCount, 4, "dk");
        long dvAddress = at(dv, dvOff, kvCount, 4, "dv");
        // Each query row's max, 1/sum and D, from the first launch to the second: [3][tokens * heads].
        long stats = scratch(12L * tokens * heads);
        args.reset()
                .ptr(qAddress).i64(qOff).ptr(kAddress).i64(kOff).ptr(vAddress).i64(vOff)
                .ptr(dOutAddress).i64(dOutOff).ptr(dqAddress).i64(dqOff).ptr(stats)
                .i32(tokens).i32(heads).i32(kvHeads).i32(d).f32(shape.scale());
        launch(Kernel.ATTENTION_BACKWARD_Q, tokens, heads, 1, ATTENTION_BACKWARD_THREADS);
        args.reset()
                .ptr(qAddress).i64(qOff).ptr(kAddress).i64(kOff).ptr(vAddress).i64(vOff)
                .ptr(dOutAddress).i64(dOutOff).ptr(stats)
                .ptr(dkAddress).i64(dkOff).ptr(dvAddress).i64(dvOff)
                .i32(tokens).i32(heads).i32(kvHeads).i32(d).f32(shape.scale());
        launch(Kernel.ATTENTION_BACKWARD_KV, tokens, kvHeads, 1, ATTENTION_BACKWARD_THREADS);
    }

    @Override
    public void adamW(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer m, long mOff,
                      DeviceBuffer v, long vOff, long n, AdamWStep step) {
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        args.reset()
                .ptr(at(param, paramOff, n, 4, "param")).i64(paramOff)
                .ptr(at(grad, gradOff, n, 4, "grad")).i64(gradOff)
                .ptr(at(m, mOff, n, 4, "m")).i64(mOff)
                .ptr(at(v, vOff, n, 4, "v")).i64(vOff).i64(n)
                .f32(step.decay()).f32(step.lerpCoefficient()).i32(step.smallLerp() ? 1 : 0)
                .f32(step.beta2()).f32(step.oneMinusBeta2()).f32(step.bc2Sqrt()).f32(step.eps())
                .f32(step.negStepSize());
        launch(Kernel.ADAMW, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public void sgd(DeviceBuffer param, long paramOff, DeviceBuffer grad, long gradOff, DeviceBuffer momentum,
                    long momentumOff, long n, SgdStep step) {
        step.requireBuffer(momentum);
        if (n <= 0) {
            requireNonNegative(n);
            return;
        }
        long g = at(grad, gradOff, n, 4, "grad");
        // Without momentum the kernel never reads its buffer argument: the gradient stands in.
        args.reset()
                .ptr(at(param, paramOff, n, 4, "param")).i64(paramOff)
                .ptr(g).i64(gradOff)
                .ptr(momentum == null ? g : at(momentum, momentumOff, n, 4, "momentum"))
                .i64(momentum == null ? gradOff : momentumOff).i64(n)
                .i32(step.hasMomentum() ? 1 : 0).i32(step.first() ? 1 : 0)
                .f32(step.momentum()).f32(step.weightDecay()).f32(step.negLr());
        launch(Kernel.SGD, elementwiseBlocks(n), 1, 1, ELEMENTWISE_BLOCK);
    }

    @Override
    public double sumOfSquares(DeviceBuffer x, long xOff, long n) {
        requireNotRecording("sumOfSquares");   // it returns a value: nothing to replay
        if (n <= 0) {
            requireNonNegative(n);
            return 0;
        }
        long blocks = SumOfSquares.blocks(n);
        long address = at(x, xOff, n, 4, "x");
        args.reset().ptr(address).i64(xOff).i64(n).ptr(scratch(4L * blocks)).i64(0);
        launch(Kernel.SUM_OF_SQUARES, blocks, 1, 1, SumOfSquares.GROUP);
        return SumOfSquares.addBlockSums(this, scratch, blocks);
    }

    @Override
    public double[] sumsOfSquares(List<DeviceBuffer> xs, long[] offs, long[] ns) {
        requireNotRecording("sumsOfSquares");
        long[] blocks = SumOfSquares.blocks(xs, offs, ns);
        long total = Arrays.stream(blocks).sum();
        if (total == 0) {
            return new double[ns.length];
        }
        long partials = scratch(4L * total);
        for (int i = 0, first = 0; i < ns.length; first += blocks[i], i++) {
            if (ns[i] > 0) {
                args.reset().ptr(at(xs.get(i), offs[i], ns[i], 4, "x")).i64(offs[i]).i64(ns[i]).ptr(partials).i64(first);
                launch(Kernel.SUM_OF_SQUARES, blocks[i], 1, 1, SumOfSquares.GROUP);
            }
        }
        return SumOfSquares.addBlockSums(this, scratch, blocks);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            if (scratch != null) {
                scratch.close();
            }
            sequenceTables.values().forEach(CudaBuffer::close);
            sequenceTables.clear();
        } finally {
            closed = true;
            try {
                gpu.close();
            } finally {
                arena.close();
            }
        }
    }
}
