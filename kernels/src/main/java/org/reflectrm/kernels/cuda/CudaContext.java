package org.reflectrm.kernels.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import org.reflectrm.kernels.device.DeviceException;

/**
 * One GPU through the driver API: its primary context, one stream (which synchronises with the
 * legacy default stream, so the synchronous copies and memsets, issued there, are ordered with
 * the kernels), and the kernels' module. Driver calls need the context current on the calling
 * thread; it is made current whenever the thread (or the context it last had from us) changes,
 * which costs one thread-local read per call otherwise.
 */
final class CudaContext implements Gpu {
    private static final String PTX_PORTABLE = "reflectrm_kernels.compute_75.ptx";
    private static final String PTX_HOPPER = "reflectrm_kernels.compute_90.ptx";
    private static final AtomicLong IDS = new AtomicLong();
    /** Per thread: the id of the context this class last made current there (0: none). */
    private static final ThreadLocal<long[]> CURRENT = ThreadLocal.withInitial(() -> new long[1]);

    private final long id = IDS.incrementAndGet();
    private final Cuda cuda;
    private final int device;
    private final String description;
    private final long memoryBytes;
    private final MemorySegment context;
    private MemorySegment stream;
    private MemorySegment module;
    private final MemorySegment[] functions = new MemorySegment[Kernel.values().length];
    private CudaProfiler profiler;  // null unless REFLECTRM_CUDA_PROFILE is set
    private CudaGraphs graphs;  // bound on first use
    private boolean tensorCores;
    private boolean closed;

    /** The GPU at {@code ordinal}, or a {@link DeviceException} saying why not. */
    static CudaContext open(int ordinal) {
        Cuda cuda = Cuda.get();
        int count = cuda.deviceCount();
        if (count == 0) {
            throw new DeviceException("the NVIDIA driver found no CUDA device");
        }
        if (ordinal < 0 || ordinal >= count) {
            throw new DeviceException("no CUDA device " + ordinal + ": the NVIDIA driver found " + count
                    + (count == 1 ? " (ordinal 0)" : " (ordinals 0 to " + (count - 1) + ")"));
        }
        return new CudaContext(cuda, ordinal);
    }

    /** One line for people: ordinal, name, compute capability, memory. */
    static String describe(Cuda cuda, int ordinal) {
        int dev = cuda.device(ordinal);
        return ordinal + ": " + cuda.deviceName(dev) + ", compute capability " + major(cuda, dev) + "."
                + cuda.attribute(Cuda.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev) + ", "
                + String.format("%.1f GiB", cuda.totalMemory(dev) / (double) (1L << 30));
    }

    private static int major(Cuda cuda, int dev) {
        return cuda.attribute(Cuda.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    }

    private CudaContext(Cuda cuda, int ordinal) {
        this.cuda = cuda;
        this.device = cuda.device(ordinal);
        int major = major(cuda, device);
        int minor = cuda.attribute(Cuda.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        if (major * 10 + minor < 75) {
            throw new DeviceException("CUDA device " + ordinal + " (" + cuda.deviceName(device)
                    + ") has compute capability " + major + "." + minor + "; the kernels need 7.5 or newer");
        }
        this.description = "CUDA " + describe(cuda, ordinal);
        this.memoryBytes = cuda.totalMemory(device);
        this.context = cuda.retainPrimaryContext(device);
        try {
            makeCurrent();
            stream = cuda.createStream();
            // Hopper and newer get PTX for their own virtual architecture; the rest the portable one.
            String ptx = major >= 9 ? PTX_HOPPER : PTX_PORTABLE;
            tensorCores = major >= 9;
            module = cuda.loadModule(readPtx(ptx), ptx);
            for (Kernel k : Kernel.values()) {
                functions[k.ordinal()] = cuda.function(module, k.symbol);
            }
            profiler = CudaProfiler.enabled() ? new CudaProfiler(cuda) : null;
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    private static byte[] readPtx(String name) {
        try (InputStream in = CudaContext.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new DeviceException("the CUDA kernels' PTX resource " + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new DeviceException("could not read the CUDA kernels' PTX resource " + name, e);
        }
    }

    @Override
    public boolean tensorCores() {
        return tensorCores;
    }

    /** Makes the context current on this thread unless this class already did. */
    private void makeCurrent() {
        long[] current = CURRENT.get();
        if (current[0] != id) {
            cuda.setCurrentContext(context);
            current[0] = id;
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the CUDA device is closed");
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public long memoryBytes() {
        return memoryBytes;
    }

    @Override
    public long allocate(long bytes) {
        requireOpen();
        makeCurrent();
        long address = cuda.allocate(bytes);
        try {
            cuda.zero(address, bytes);
        } catch (RuntimeException e) {
            cuda.free(address);
            throw e;
        }
        return address;
    }

    @Override
    public void free(long address) {
        if (closed) {
            return;  // the context's release took the memory back
        }
        makeCurrent();
        cuda.free(address);
    }

    @Override
    public void upload(MemorySegment src, long dst) {
        requireOpen();
        makeCurrent();
        // Synchronous copy on the legacy stream: ordered after our stream's queued kernels and
        // before later ones, and src (pageable) is consumed on return.
        long t0 = profiler != null ? System.nanoTime() : 0;
        cuda.copyToDevice(dst, src, src.byteSize());
        if (profiler != null) {
            profiler.host("host upload", System.nanoTime() - t0);
        }
    }

    @Override
    public void download(long src, MemorySegment dst) {
        requireOpen();
        makeCurrent();
        // Also ordered by the legacy stream; synchronising first reports a failed kernel as such.
        cuda.synchronize(stream);
        long t0 = profiler != null ? System.nanoTime() : 0;
        cuda.copyToHost(dst, src, dst.byteSize());
        if (profiler != null) {
            profiler.host("host download", System.nanoTime() - t0);
        }
    }

    @Override
    public void synchronize() {
        requireOpen();
        makeCurrent();
        cuda.synchronize(stream);
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int gridZ, int block, KernelArgs args) {
        requireOpen();
        makeCurrent();
        if (profiler == null) {
            cuda.launch(functions[kernel.ordinal()], kernel.symbol, gridX, gridY, gridZ, block, stream, args.pointers());
            return;
        }
        MemorySegment start = profiler.before(stream);
        long t0 = System.nanoTime();
        cuda.launch(functions[kernel.ordinal()], kernel.symbol, gridX, gridY, gridZ, block, stream, args.pointers());
        profiler.host("host cuLaunchKernel", System.nanoTime() - t0);
        profiler.after(kernel.symbol, start, stream);
    }

    @Override
    public void beginCapture() {
        requireOpen();
        if (profiler != null) {
            throw new DeviceException(CudaProfiler.ENV + " is set: launches are timed one by one, not recorded");
        }
        makeCurrent();
        if (graphs == null) {
            graphs = new CudaGraphs(cuda);
        }
        graphs.begin(stream);
    }

    @Override
    public MemorySegment endCapture() {
        requireOpen();
        makeCurrent();
        return graphs.end(stream);
    }

    @Override
    public void launchGraph(MemorySegment graph) {
        requireOpen();
        makeCurrent();
        graphs.launch(graph, stream);
    }

    @Override
    public void destroyGraph(MemorySegment graph) {
        if (closed) {
            return;  // the context's release took it back
        }
        makeCurrent();
        graphs.destroy(graph);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        makeCurrent();
        try {
            cuda.synchronize(stream);
            if (profiler != null) {
                profiler.print(System.err, description);
            }
        } finally {
            if (profiler != null) {
                profiler.close();
            }
            release();
        }
    }

    /** Frees the stream, module and context, keeping the first failure. */
    private void release() {
        closed = true;
        RuntimeException first = null;
        try {
            makeCurrent();
        } catch (RuntimeException e) {
            first = e;
        }
        if (module != null) {
            try {
                cuda.unloadModule(module);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (stream != null) {
            try {
                cuda.destroyStream(stream);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        try {
            cuda.releasePrimaryContext(device);
        } catch (RuntimeException e) {
            first = first == null ? e : first;
        }
        CURRENT.get()[0] = 0;
        if (first != null) {
            throw first;
        }
    }
}
