package org.reflectrm.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import org.reflectrm.kernels.device.DeviceException;

/**
 * The driver's stream capture and graph calls: the launches queued on a stream between
 * {@link #begin} and {@link #end} are recorded, not run, and become one executable graph that
 * {@link #launch} replays with a single call. Bound on first use, so a driver without them
 * only loses graphs.
 */
final class CudaGraphs {
    /** Only the capturing thread is restricted; other threads' unrelated calls stay legal. */
    private static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

    private final Cuda cuda;
    private final MethodHandle cuStreamBeginCapture;
    private final MethodHandle cuStreamEndCapture;
    private final MethodHandle cuGraphInstantiate;
    private final MethodHandle cuGraphLaunch;
    private final MethodHandle cuGraphExecDestroy;
    private final MethodHandle cuGraphDestroy;

    CudaGraphs(Cuda cuda) {
        this.cuda = cuda;
        SymbolLookup lib = SymbolLookup.libraryLookup(Cuda.LIBRARY, Arena.global());
        cuStreamBeginCapture = bind(lib, "cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        cuStreamEndCapture = bind(lib, "cuStreamEndCapture", ADDRESS, ADDRESS);
        cuGraphInstantiate = bind(lib, "cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphLaunch = bind(lib, "cuGraphLaunch", ADDRESS, ADDRESS);
        cuGraphExecDestroy = bind(lib, "cuGraphExecDestroy", ADDRESS);
        cuGraphDestroy = bind(lib, "cuGraphDestroy", ADDRESS);
    }

    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new DeviceException(
                "the NVIDIA driver has no " + name + ": CUDA graphs are unavailable"));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    void begin(MemorySegment stream) {
        try {
            cuda.check("cuStreamBeginCapture_v2",
                    (int) cuStreamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
    }

    /** Ends the capture and instantiates it; returns the CUgraphExec. */
    MemorySegment end(MemorySegment stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            cuda.check("cuStreamEndCapture", (int) cuStreamEndCapture.invokeExact(stream, out));
            MemorySegment graph = out.get(ADDRESS, 0);
            try {
                cuda.check("cuGraphInstantiateWithFlags", (int) cuGraphInstantiate.invokeExact(out, graph, 0L));
                return out.get(ADDRESS, 0);
            } finally {
                cuda.check("cuGraphDestroy", (int) cuGraphDestroy.invokeExact(graph));  // the exec keeps its own copy
            }
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
    }

    void launch(MemorySegment exec, MemorySegment stream) {
        try {
            cuda.check("cuGraphLaunch", (int) cuGraphLaunch.invokeExact(exec, stream));
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
    }

    void destroy(MemorySegment exec) {
        try {
            cuda.check("cuGraphExecDestroy", (int) cuGraphExecDestroy.invokeExact(exec));
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
    }
}
