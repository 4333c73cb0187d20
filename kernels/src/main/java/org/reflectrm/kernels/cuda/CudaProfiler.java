package org.reflectrm.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.kernels.device.DeviceException;

/**
 * Where the GPU's time goes, per kernel: with {@code REFLECTRM_CUDA_PROFILE} set, every launch is
 * bracketed by two CUDA events on the stream, so the times are the GPU's own (launch overhead on
 * the host is not in them), and host-blocking copies are timed on the host. {@link CudaContext}
 * prints the table to stderr when it closes; comparing its GPU total with the wall time of a run
 * shows how much of the run the GPU sat idle waiting for the host. Off by default: events cost a
 * little on every launch.
 */
final class CudaProfiler {
    static final String ENV = "REFLECTRM_CUDA_PROFILE";
    private static final int COLLECT_EVERY = 4096;

    private final Cuda cuda;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventElapsedTime;
    private final MethodHandle cuEventDestroy;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(8, 8);
    private final ArrayDeque<MemorySegment> spare = new ArrayDeque<>();
    private final List<MemorySegment> all = new ArrayList<>();
    private final List<Interval> pending = new ArrayList<>();
    private final Map<String, double[]> totals = new HashMap<>();  // name -> {count, milliseconds}
    private final long startNanos = System.nanoTime();

    /** A launch bracketed by two recorded events. */
    private record Interval(String kernel, MemorySegment start, MemorySegment end) {
    }

    static boolean enabled() {
        String v = System.getenv(ENV);
        return v != null && !v.isEmpty() && !v.equals("0");
    }

    CudaProfiler(Cuda cuda) {
        this.cuda = cuda;
        SymbolLookup lib = SymbolLookup.libraryLookup(Cuda.LIBRARY, Arena.global());
        cuEventCreate = bind(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = bind(lib, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = bind(lib, "cuEventSynchronize", ADDRESS);
        cuEventElapsedTime = bind(lib, lib.find("cuEventElapsedTime_v2").isPresent() ? "cuEventElapsedTime_v2"
                : "cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        cuEventDestroy = bind(lib, "cuEventDestroy_v2", ADDRESS);
    }

    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new DeviceException(
                ENV + " is set but the NVIDIA driver has no " + name));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    /** Records an event on {@code stream} before a launch; pass it to {@link #after}. */
    MemorySegment before(MemorySegment stream) {
        MemorySegment event = spare.isEmpty() ? create() : spare.pop();
        record(event, stream);
        return event;
    }

    void after(String name, MemorySegment start, MemorySegment stream) {
        MemorySegment end = spare.isEmpty() ? create() : spare.pop();
        record(end, stream);
        pending.add(new Interval(name, start, end));
        if (pending.size() >= COLLECT_EVERY) {
            collect();
        }
    }

    /** Adds host wall time of a blocking call (copies) under {@code name}. */
    void host(String name, long nanos) {
        double[] t = totals.computeIfAbsent(name, k -> new double[2]);
        t[0]++;
        t[1] += nanos / 1e6;
    }

    /** Waits for the recorded events and adds their intervals to the totals. */
    void collect() {
        try {
            for (Interval p : pending) {
                cuda.check("cuEventSynchronize", (int) cuEventSynchronize.invokeExact(p.end()));
                cuda.check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(scratch, p.start(), p.end()));
                double[] t = totals.computeIfAbsent(p.kernel(), k -> new double[2]);
                t[0]++;
                t[1] += scratch.get(JAVA_FLOAT, 0);
                spare.push(p.start());
                spare.push(p.end());
            }
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        } finally {
            pending.clear();
        }
    }

    /** The table: kernels by GPU time, then host-timed copies. */
    void print(PrintStream out, String device) {
        collect();
        double wall = (System.nanoTime() - startNanos) / 1e6;
        double gpu = totals.entrySet().stream().filter(e -> !e.getKey().startsWith("host "))
                .mapToDouble(e -> e.getValue()[1]).sum();
        out.printf("%s profile (%s): GPU busy in kernels %.1f ms of %.1f ms since the context opened%n",
                device, ENV, gpu, wall);
        out.printf("  %-28s %9s %11s %10s %7s%n", "kernel", "launches", "total ms", "mean us", "share");
        totals.entrySet().stream()
                .sorted(Comparator.comparingDouble((Map.Entry<String, double[]> e) -> -e.getValue()[1]))
                .forEach(e -> out.printf("  %-28s %9d %11.2f %10.1f %6.1f%%%n", e.getKey(), (long) e.getValue()[0],
                        e.getValue()[1], 1000 * e.getValue()[1] / e.getValue()[0],
                        e.getKey().startsWith("host ") ? Double.NaN : 100 * e.getValue()[1] / gpu));
    }

    void close() {
        try {
            for (MemorySegment e : all) {
                cuda.check("cuEventDestroy_v2", (int) cuEventDestroy.invokeExact(e));
            }
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        } finally {
            all.clear();
            spare.clear();
            arena.close();
        }
    }

    private MemorySegment create() {
        try {
            cuda.check("cuEventCreate", (int) cuEventCreate.invokeExact(scratch, 0));
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
        MemorySegment event = scratch.get(ADDRESS, 0);
        all.add(event);
        return event;
    }

    private void record(MemorySegment event, MemorySegment stream) {
        try {
            cuda.check("cuEventRecord", (int) cuEventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw Cuda.rethrow(t);
        }
    }
}
