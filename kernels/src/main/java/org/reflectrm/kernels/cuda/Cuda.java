package org.reflectrm.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
 * The CUDA driver API ({@code libcuda.so.1}) through FFM: one method per function this backend
 * uses, each checking the {@code CUresult}. Signatures follow CUDA 13's {@code cuda.h}; where
 * {@code cuda.h} maps a name to a versioned symbol by macro ({@code cuMemAlloc} to
 * {@code cuMemAlloc_v2} and so on) the versioned symbol is bound, and the legacy-default-stream
 * symbols (not {@code _ptds}/{@code _ptsz}) are used. Handles ({@code CUcontext},
 * {@code CUmodule}, {@code CUfunction}, {@code CUstream}) are opaque pointers;
 * {@code CUdevice} is an int and {@code CUdeviceptr} an unsigned 64-bit address.
 */
final class Cuda {
    static final String LIBRARY = "libcuda.so.1";
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    private static final int CU_JIT_ERROR_LOG_BUFFER = 5;
    private static final int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    private static final int JIT_LOG_BYTES = 16 * 1024;
    private static final int CU_STREAM_DEFAULT = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static Cuda instance;
    private static DeviceException failure;

    private final MethodHandle cuInit;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceTotalMem;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuModuleLoadDataEx;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuModuleUnload;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemsetD8;
    private final MethodHandle cuMemcpyHtoD;
    private final MethodHandle cuMemcpyDtoH;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuGetErrorName;

    /**
     * The driver, loaded and initialised once per JVM; a {@link DeviceException} (remembered, so
     * later calls fail the same way quickly) when there is no driver or no device.
     */
    static synchronized Cuda get() {
        if (instance != null) {
            return instance;
        }
        if (failure != null) {
            throw new DeviceException(failure.getMessage(), failure);
        }
        try {
            instance = new Cuda();
            return instance;
        } catch (DeviceException e) {
            failure = e;
            throw e;
        }
    }

    private Cuda() {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new DeviceException("no NVIDIA driver found: " + LIBRARY + " could not be loaded", e);
        }
        cuGetErrorName = bind(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuInit = bind(lib, "cuInit", JAVA_INT);
        cuDeviceGetCount = bind(lib, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = bind(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = bind(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = bind(lib, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDeviceGetAttribute = bind(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = bind(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRelease = bind(lib, "cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        cuCtxSetCurrent = bind(lib, "cuCtxSetCurrent", ADDRESS);
        cuModuleLoadDataEx = bind(lib, "cuModuleLoadDataEx", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        cuModuleGetFunction = bind(lib, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuModuleUnload = bind(lib, "cuModuleUnload", ADDRESS);
        cuMemAlloc = bind(lib, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = bind(lib, "cuMemFree_v2", JAVA_LONG);
        cuMemsetD8 = bind(lib, "cuMemsetD8_v2", JAVA_LONG, JAVA_BYTE, JAVA_LONG);
        cuMemcpyHtoD = bind(lib, "cuMemcpyHtoD_v2", JAVA_LONG, ADDRESS, JAVA_LONG);
        cuMemcpyDtoH = bind(lib, "cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        cuStreamCreate = bind(lib, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamSynchronize = bind(lib, "cuStreamSynchronize", ADDRESS);
        cuStreamDestroy = bind(lib, "cuStreamDestroy_v2", ADDRESS);
        cuLaunchKernel = bind(lib, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        int result;
        try {
            result = (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (result == CudaErrors.CUDA_ERROR_NO_DEVICE) {
            throw new DeviceException("the NVIDIA driver found no CUDA device (cuInit: " + errorName(result) + ")");
        }
        check("cuInit", result);
    }

    /** A downcall returning {@code CUresult} (an int). */
    private static MethodHandle bind(SymbolLookup lib, String name, MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new DeviceException(
                "the NVIDIA driver (" + LIBRARY + ") has no " + name + "; it is too old for this backend"));
        return LINKER.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** Throws a {@link DeviceException} naming the call and the error unless {@code result} is CUDA_SUCCESS. */
    void check(String call, int result) {
        if (result != CudaErrors.CUDA_SUCCESS) {
            throw CudaErrors.failure(call, result, errorName(result));
        }
    }

    /** The driver's name for a CUresult, such as CUDA_ERROR_OUT_OF_MEMORY. */
    String errorName(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int r = (int) cuGetErrorName.invokeExact(result, out);
            MemorySegment name = out.get(ADDRESS, 0);
            if (r != CudaErrors.CUDA_SUCCESS || name.equals(MemorySegment.NULL)) {
                return "CUresult " + result;
            }
            return name.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetCount", (int) cuDeviceGetCount.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The CUdevice of an ordinal. */
    int device(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGet", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            int len = 256;
            MemorySegment out = arena.allocate(len);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, len, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long totalMemory(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int attribute(int attribute, int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The device's primary context (shared with any other user of the runtime in this process). */
    MemorySegment retainPrimaryContext(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuDevicePrimaryCtxRetain", (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void releasePrimaryContext(int device) {
        try {
            check("cuDevicePrimaryCtxRelease_v2", (int) cuDevicePrimaryCtxRelease.invokeExact(device));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void setCurrentContext(MemorySegment context) {
        try {
            check("cuCtxSetCurrent", (int) cuCtxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Loads NUL-free PTX text; a JIT failure's log is part of the exception's message. */
    MemorySegment loadModule(byte[] ptx, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(ptx.length + 1L);
            MemorySegment.copy(ptx, 0, image, JAVA_BYTE, 0, ptx.length);
            image.set(JAVA_BYTE, ptx.length, (byte) 0);
            MemorySegment log = arena.allocate(JIT_LOG_BYTES);
            MemorySegment options = arena.allocate(JAVA_INT, 2);
            options.setAtIndex(JAVA_INT, 0, CU_JIT_ERROR_LOG_BUFFER);
            options.setAtIndex(JAVA_INT, 1, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
            MemorySegment values = arena.allocate(ADDRESS, 2);
            values.setAtIndex(ADDRESS, 0, log);
            // An integer option travels in the pointer-sized slot itself.
            values.setAtIndex(ADDRESS, 1, MemorySegment.ofAddress(JIT_LOG_BYTES));
            MemorySegment out = arena.allocate(ADDRESS);
            int result = (int) cuModuleLoadDataEx.invokeExact(out, image, 2, options, values);
            if (result != CudaErrors.CUDA_SUCCESS) {
                String jitLog = log.getString(0).strip();
                DeviceException e = CudaErrors.failure("cuModuleLoadDataEx (" + what + ")", result, errorName(result));
                throw jitLog.isEmpty() ? e : new DeviceException(e.getMessage() + "\nJIT log:\n" + jitLog);
            }
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment function(MemorySegment module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuModuleGetFunction(" + name + ")",
                    (int) cuModuleGetFunction.invokeExact(out, module, arena.allocateFrom(name)));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void unloadModule(MemorySegment module) {
        try {
            check("cuModuleUnload", (int) cuModuleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long allocate(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check("cuMemAlloc_v2(" + bytes + " bytes)", (int) cuMemAlloc.invokeExact(out, bytes));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void free(long address) {
        try {
            check("cuMemFree_v2", (int) cuMemFree.invokeExact(address));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void zero(long address, long bytes) {
        try {
            check("cuMemsetD8_v2", (int) cuMemsetD8.invokeExact(address, (byte) 0, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Host to device; {@code src} must be native memory. */
    void copyToDevice(long dst, MemorySegment src, long bytes) {
        try {
            check("cuMemcpyHtoD_v2", (int) cuMemcpyHtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Device to host; {@code dst} must be native memory. */
    void copyToHost(MemorySegment dst, long src, long bytes) {
        try {
            check("cuMemcpyDtoH_v2", (int) cuMemcpyDtoH.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A stream that synchronises with the legacy default stream (CU_STREAM_DEFAULT). */
    MemorySegment createStream() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check("cuStreamCreate", (int) cuStreamCreate.invokeExact(out, CU_STREAM_DEFAULT));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void synchronize(MemorySegment stream) {
        try {
            check("cuStreamSynchronize", (int) cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void destroyStream(MemorySegment stream) {
        try {
            check("cuStreamDestroy_v2", (int) cuStreamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Queues a kernel on the stream; {@code params} is the {@code void**} of its arguments. */
    void launch(MemorySegment function, String name, int gridX, int gridY, int gridZ, int block,
                MemorySegment stream, MemorySegment params) {
        int result;
        try {
            result = (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, block, 1, 1, 0, stream, params,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (result != CudaErrors.CUDA_SUCCESS) {
            check("cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + block + ")",
                    result);
        }
    }
}
