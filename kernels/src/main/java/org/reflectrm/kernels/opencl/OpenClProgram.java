package org.reflectrm.kernels.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.reflectrm.kernels.device.DeviceException;

/** A built {@code cl_program} and the kernels created from it, each created once and reused for every launch. */
final class OpenClProgram implements AutoCloseable {

    /** A {@code cl_kernel} and its name (for messages). */
    record Kernel(String name, MemorySegment handle) {
    }

    private final OpenCl cl;
    private final String name;
    private final MemorySegment program;
    private final Map<String, Kernel> kernels = new HashMap<>();

    private OpenClProgram(OpenCl cl, String name, MemorySegment program) {
        this.cl = cl;
        this.name = name;
        this.program = program;
    }

    /** Compiles source for the device; on failure the DeviceException carries the compiler's build log. */
    static OpenClProgram build(OpenCl cl, MemorySegment context, MemorySegment device, String name, String source,
                               String options) {
        MemorySegment program = cl.createProgram(context, source);
        int code = cl.buildProgram(program, device, options);
        if (code != OpenCl.SUCCESS) {
            String log;
            try {
                log = cl.buildLog(program, device);
            } catch (DeviceException e) {
                log = "(no build log: " + e.getMessage() + ")";
            }
            cl.releaseProgram(program);
            throw new DeviceException("clBuildProgram of OpenCL program '" + name + "' (options: " + options
                    + ") failed: " + OpenClErrors.describe(code) + "\nbuild log:\n" + log);
        }
        return new OpenClProgram(cl, name, program);
    }

    /** The text of a kernel source under this package's resources. */
    static String source(String resource) {
        try (InputStream in = OpenClProgram.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing OpenCL source resource " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Kernel kernel(String kernelName) {
        Kernel k = kernels.get(kernelName);
        if (k == null) {
            k = new Kernel(name + "." + kernelName, cl.createKernel(program, kernelName));
            kernels.put(kernelName, k);
        }
        return k;
    }

    @Override
    public void close() {
        for (Kernel k : kernels.values()) {
            cl.releaseKernel(k.handle());
        }
        kernels.clear();
        cl.releaseProgram(program);
    }
}
