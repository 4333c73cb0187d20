package org.reflectrm.kernels.opencl;

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
import java.nio.charset.StandardCharsets;
import org.reflectrm.kernels.device.DeviceException;

/**
 * FFM bindings to the OpenCL 1.2 calls of the ICD loader ({@code libOpenCL.so.1}), which
 * dispatches to whichever vendor drivers are installed (NVIDIA, PoCL, ...). Every call that can
 * fail is checked: a failure becomes a {@link DeviceException} naming the call and the error.
 * Handles ({@code cl_context}, {@code cl_mem}, ...) are plain addresses.
 */
final class OpenCl {
    static final String LIBRARY = "libOpenCL.so.1";

    static final long DEVICE_TYPE_CPU = 1L << 1;
    static final long DEVICE_TYPE_GPU = 1L << 2;
    static final long DEVICE_TYPE_ACCELERATOR = 1L << 3;
    static final long DEVICE_TYPE_ALL = 0xFFFFFFFFL;

    static final int PLATFORM_VERSION = 0x0901;
    static final int PLATFORM_NAME = 0x0902;
    static final int DEVICE_TYPE = 0x1000;
    static final int DEVICE_SINGLE_FP_CONFIG = 0x101B;
    static final int DEVICE_GLOBAL_MEM_SIZE = 0x101F;
    static final int DEVICE_NAME = 0x102B;
    static final int DRIVER_VERSION = 0x102D;
    static final int DEVICE_VERSION = 0x102F;
    static final int PROGRAM_BUILD_LOG = 0x1183;
    /** The CL_DEVICE_SINGLE_FP_CONFIG bit: the device can build with -cl-fp32-correctly-rounded-divide-sqrt. */
    static final long FP_CORRECTLY_ROUNDED_DIVIDE_SQRT = 1L << 7;

    static final int SUCCESS = 0;
    static final int DEVICE_NOT_FOUND = -1;
    static final int PLATFORM_NOT_FOUND_KHR = -1001;

    private static final long MEM_READ_WRITE = 1;
    private static final int TRUE = 1;

    private static OpenCl instance;

    private final MethodHandle getPlatformIds;
    private final MethodHandle getPlatformInfo;
    private final MethodHandle getDeviceIds;
    private final MethodHandle getDeviceInfo;
    private final MethodHandle createContext;
    private final MethodHandle createCommandQueue;
    private final MethodHandle createProgramWithSource;
    private final MethodHandle buildProgram;
    private final MethodHandle getProgramBuildInfo;
    private final MethodHandle createKernel;
    private final MethodHandle setKernelArg;
    private final MethodHandle enqueueNdRangeKernel;
    private final MethodHandle createBuffer;
    private final MethodHandle enqueueWriteBuffer;
    private final MethodHandle enqueueReadBuffer;
    private final MethodHandle enqueueFillBuffer;
    private final MethodHandle finish;
    private final MethodHandle releaseMemObject;
    private final MethodHandle releaseKernel;
    private final MethodHandle releaseProgram;
    private final MethodHandle releaseCommandQueue;
    private final MethodHandle releaseContext;

    /** The bindings, loading the ICD loader on first use; a missing library is a DeviceException saying what to install. */
    static synchronized OpenCl get() {
        if (instance == null) {
            SymbolLookup library;
            try {
                library = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            } catch (IllegalArgumentException e) {
                throw new DeviceException("OpenCL is not installed: " + LIBRARY + " could not be loaded. Install the "
                        + "OpenCL ICD loader (Debian/Ubuntu: ocl-icd-libopencl1) and a vendor driver (the NVIDIA "
                        + "driver's OpenCL ICD for an NVIDIA GPU, or pocl-opencl-icd for the CPU)", e);
            }
            instance = new OpenCl(library);
        }
        return instance;
    }

    private OpenCl(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        getPlatformIds = bind(linker, lib, "clGetPlatformIDs", JAVA_INT, ADDRESS, ADDRESS);
        getPlatformInfo = bind(linker, lib, "clGetPlatformInfo", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        getDeviceIds = bind(linker, lib, "clGetDeviceIDs", ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        getDeviceInfo = bind(linker, lib, "clGetDeviceInfo", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createContext = bindHandle(linker, lib, "clCreateContext", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        createCommandQueue = bindHandle(linker, lib, "clCreateCommandQueue", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        createProgramWithSource = bindHandle(linker, lib, "clCreateProgramWithSource",
                ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        buildProgram = bind(linker, lib, "clBuildProgram", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        getProgramBuildInfo = bind(linker, lib, "clGetProgramBuildInfo",
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createKernel = bindHandle(linker, lib, "clCreateKernel", ADDRESS, ADDRESS, ADDRESS);
        // Called ~15 times per launch and never blocks or calls back: a critical call skips the
        // thread-state transition.
        setKernelArg = linker.downcallHandle(find(lib, "clSetKernelArg"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.critical(false));
        enqueueNdRangeKernel = bind(linker, lib, "clEnqueueNDRangeKernel",
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        createBuffer = bindHandle(linker, lib, "clCreateBuffer", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        enqueueWriteBuffer = bind(linker, lib, "clEnqueueWriteBuffer",
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueReadBuffer = bind(linker, lib, "clEnqueueReadBuffer",
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueFillBuffer = bind(linker, lib, "clEnqueueFillBuffer",
                ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        finish = bind(linker, lib, "clFinish", ADDRESS);
        releaseMemObject = bind(linker, lib, "clReleaseMemObject", ADDRESS);
        releaseKernel = bind(linker, lib, "clReleaseKernel", ADDRESS);
        releaseProgram = bind(linker, lib, "clReleaseProgram", ADDRESS);
        releaseCommandQueue = bind(linker, lib, "clReleaseCommandQueue", ADDRESS);
        releaseContext = bind(linker, lib, "clReleaseContext", ADDRESS);
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new DeviceException(
                LIBRARY + " lacks " + name + ": the OpenCL ICD loader is older than OpenCL 1.2"));
    }

    /** A call returning cl_int. */
    private static MethodHandle bind(Linker linker, SymbolLookup lib, String name, MemoryLayout... args) {
        return linker.downcallHandle(find(lib, name), FunctionDescriptor.of(JAVA_INT, args));
    }

    /** A call returning a handle (its last argument is the cl_int* error code). */
    private static MethodHandle bindHandle(Linker linker, SymbolLookup lib, String name, MemoryLayout... args) {
        return linker.downcallHandle(find(lib, name), FunctionDescriptor.of(ADDRESS, args));
    }

    /** Throws unless code is CL_SUCCESS; the message names the call, e.g. {@code clBuildProgram}. */
    static void check(int code, String call) {
        if (code != SUCCESS) {
            throw new DeviceException(call + " failed: " + OpenClErrors.describe(code));
        }
    }

    private static DeviceException unexpected(String call, Throwable t) {
        return new DeviceException(call + " failed: " + t, t);
    }

    // ---- Enumeration ----

    /** clGetPlatformIDs; the raw code is returned because "no platform" is an answer, not an error. */
    int platformIds(int entries, MemorySegment platforms, MemorySegment count) {
        try {
            return (int) getPlatformIds.invokeExact(entries, platforms, count);
        } catch (Throwable t) {
            throw unexpected("clGetPlatformIDs", t);
        }
    }

    /** clGetDeviceIDs; CL_DEVICE_NOT_FOUND is returned, not thrown. */
    int deviceIds(MemorySegment platform, long type, int entries, MemorySegment devices, MemorySegment count) {
        try {
            return (int) getDeviceIds.invokeExact(platform, type, entries, devices, count);
        } catch (Throwable t) {
            throw unexpected("clGetDeviceIDs", t);
        }
    }

    String platformString(MemorySegment platform, int param) {
        return infoString((size, value, sizeRet) -> (int) getPlatformInfo.invokeExact(platform, param, size, value, sizeRet),
                "clGetPlatformInfo");
    }

    String deviceString(MemorySegment device, int param) {
        return infoString((size, value, sizeRet) -> (int) getDeviceInfo.invokeExact(device, param, size, value, sizeRet),
                "clGetDeviceInfo");
    }

    /** A cl_ulong or cl_bitfield device property. */
    long deviceLong(MemorySegment device, int param) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_LONG);
            int code = (int) getDeviceInfo.invokeExact(device, param, JAVA_LONG.byteSize(), value, MemorySegment.NULL);
            check(code, "clGetDeviceInfo");
            return value.get(JAVA_LONG, 0);
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clGetDeviceInfo", t);
        }
    }

    /** The clGet*Info shape: (size, value, size_ret) → cl_int. */
    @FunctionalInterface
    private interface InfoCall {
        int call(long size, MemorySegment value, MemorySegment sizeRet) throws Throwable;
    }

    /** A string property: ask its size, then read it (NUL-terminated). */
    private static String infoString(InfoCall info, String call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            check(info.call(0, MemorySegment.NULL, size), call);
            long n = size.get(JAVA_LONG, 0);
            if (n == 0) {
                return "";
            }
            MemorySegment value = arena.allocate(n);
            check(info.call(n, value, MemorySegment.NULL), call);
            return value.getString(0, StandardCharsets.UTF_8).strip();
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected(call, t);
        }
    }

    // ---- Context, queue, programs, kernels ----

    MemorySegment createContext(MemorySegment device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment devices = arena.allocateFrom(ADDRESS, device);
            MemorySegment err = arena.allocate(JAVA_INT);
            MemorySegment context = (MemorySegment) createContext.invokeExact(MemorySegment.NULL, 1, devices,
                    MemorySegment.NULL, MemorySegment.NULL, err);
            check(err.get(JAVA_INT, 0), "clCreateContext");
            return context;
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clCreateContext", t);
        }
    }

    /** An in-order queue: kernels run in the order they are enqueued, which the Device SPI promises. */
    MemorySegment createQueue(MemorySegment context, MemorySegment device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            MemorySegment queue = (MemorySegment) createCommandQueue.invokeExact(context, device, 0L, err);
            check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            return queue;
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clCreateCommandQueue", t);
        }
    }

    /** A program of the concatenated sources, not yet built. */
    MemorySegment createProgram(MemorySegment context, String source) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment strings = arena.allocateFrom(ADDRESS, arena.allocateFrom(source, StandardCharsets.UTF_8));
            MemorySegment err = arena.allocate(JAVA_INT);
            // Lengths NULL: the strings are NUL-terminated.
            MemorySegment program = (MemorySegment) createProgramWithSource.invokeExact(context, 1, strings,
                    MemorySegment.NULL, err);
            check(err.get(JAVA_INT, 0), "clCreateProgramWithSource");
            return program;
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clCreateProgramWithSource", t);
        }
    }

    /** clBuildProgram for one device; the raw code is returned so the caller can fetch the build log. */
    int buildProgram(MemorySegment program, MemorySegment device, String options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment devices = arena.allocateFrom(ADDRESS, device);
            return (int) buildProgram.invokeExact(program, 1, devices, arena.allocateFrom(options, StandardCharsets.UTF_8),
                    MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("clBuildProgram", t);
        }
    }

    String buildLog(MemorySegment program, MemorySegment device) {
        return infoString((size, value, sizeRet) ->
                (int) getProgramBuildInfo.invokeExact(program, device, PROGRAM_BUILD_LOG, size, value, sizeRet),
                "clGetProgramBuildInfo");
    }

    MemorySegment createKernel(MemorySegment program, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            MemorySegment kernel = (MemorySegment) createKernel.invokeExact(program,
                    arena.allocateFrom(name, StandardCharsets.UTF_8), err);
            check(err.get(JAVA_INT, 0), "clCreateKernel(" + name + ")");
            return kernel;
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clCreateKernel(" + name + ")", t);
        }
    }

    // ---- The hot path: no allocation, the caller owns the argument memory ----

    /** clSetKernelArg: the driver copies {@code size} bytes of {@code value} before returning. */
    int setKernelArg(MemorySegment kernel, int index, long size, MemorySegment value) {
        try {
            return (int) setKernelArg.invokeExact(kernel, index, size, value);
        } catch (Throwable t) {
            throw unexpected("clSetKernelArg", t);
        }
    }

    int enqueueKernel(MemorySegment queue, MemorySegment kernel, int dims, MemorySegment global, MemorySegment local) {
        try {
            return (int) enqueueNdRangeKernel.invokeExact(queue, kernel, dims, MemorySegment.NULL, global, local, 0,
                    MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("clEnqueueNDRangeKernel", t);
        }
    }

    // ---- Memory ----

    MemorySegment createBuffer(MemorySegment context, long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment err = arena.allocate(JAVA_INT);
            MemorySegment mem = (MemorySegment) createBuffer.invokeExact(context, MEM_READ_WRITE, bytes,
                    MemorySegment.NULL, err);
            check(err.get(JAVA_INT, 0), "clCreateBuffer(" + bytes + " bytes)");
            return mem;
        } catch (DeviceException e) {
            throw e;
        } catch (Throwable t) {
            throw unexpected("clCreateBuffer", t);
        }
    }

    /** Blocking write: host memory may be reused once it returns. */
    void write(MemorySegment queue, MemorySegment mem, long offset, MemorySegment src) {
        int code;
        try {
            code = (int) enqueueWriteBuffer.invokeExact(queue, mem, TRUE, offset, src.byteSize(), src, 0,
                    MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("clEnqueueWriteBuffer", t);
        }
        check(code, "clEnqueueWriteBuffer(" + src.byteSize() + " bytes at " + offset + ")");
    }

    /** Blocking read: on an in-order queue it also waits for every kernel queued before it. */
    void read(MemorySegment queue, MemorySegment mem, long offset, MemorySegment dst) {
        int code;
        try {
            code = (int) enqueueReadBuffer.invokeExact(queue, mem, TRUE, offset, dst.byteSize(), dst, 0,
                    MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("clEnqueueReadBuffer", t);
        }
        check(code, "clEnqueueReadBuffer(" + dst.byteSize() + " bytes at " + offset + ")");
    }

    /** Queues filling {@code bytes} bytes with the pattern (its size must divide bytes). */
    void fill(MemorySegment queue, MemorySegment mem, MemorySegment pattern, long bytes) {
        int code;
        try {
            code = (int) enqueueFillBuffer.invokeExact(queue, mem, pattern, pattern.byteSize(), 0L, bytes, 0,
                    MemorySegment.NULL, MemorySegment.NULL);
        } catch (Throwable t) {
            throw unexpected("clEnqueueFillBuffer", t);
        }
        check(code, "clEnqueueFillBuffer(" + bytes + " bytes)");
    }

    void finish(MemorySegment queue) {
        int code;
        try {
            code = (int) finish.invokeExact(queue);
        } catch (Throwable t) {
            throw unexpected("clFinish", t);
        }
        check(code, "clFinish");
    }

    // ---- Release: each returns the raw code; closing paths report but do not stop on it ----

    int releaseMemObject(MemorySegment mem) {
        return release(releaseMemObject, mem, "clReleaseMemObject");
    }

    int releaseKernel(MemorySegment kernel) {
        return release(releaseKernel, kernel, "clReleaseKernel");
    }

    int releaseProgram(MemorySegment program) {
        return release(releaseProgram, program, "clReleaseProgram");
    }

    int releaseQueue(MemorySegment queue) {
        return release(releaseCommandQueue, queue, "clReleaseCommandQueue");
    }

    int releaseContext(MemorySegment context) {
        return release(releaseContext, context, "clReleaseContext");
    }

    private static int release(MethodHandle handle, MemorySegment object, String call) {
        try {
            return (int) handle.invokeExact(object);
        } catch (Throwable t) {
            throw unexpected(call, t);
        }
    }
}
