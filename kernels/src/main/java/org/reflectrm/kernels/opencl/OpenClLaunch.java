package org.reflectrm.kernels.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.device.DeviceException;

/**
 * Sets a kernel's arguments in order and enqueues it, without allocating: decode launches
 * hundreds of kernels per token. One instance per device, reused for every launch (so it is as
 * single-threaded as the device). Arguments go through one 8-byte slot, which is safe because
 * clSetKernelArg copies the value before it returns. Usage:
 * {@code launch.of(kernel).mem(x).offset(xOff).i32(n).groups(g, 1, 256, 1)}.
 */
final class OpenClLaunch {
    private final OpenCl cl;
    private final MemorySegment queue;
    private final MemorySegment value;
    private final MemorySegment global;
    private final MemorySegment local;
    private OpenClProgram.Kernel kernel;
    private int index;

    OpenClLaunch(OpenCl cl, MemorySegment queue, Arena arena) {
        this.cl = cl;
        this.queue = queue;
        this.value = arena.allocate(JAVA_LONG);
        this.global = arena.allocate(JAVA_LONG, 2);
        this.local = arena.allocate(JAVA_LONG, 2);
    }

    OpenClLaunch of(OpenClProgram.Kernel k) {
        kernel = k;
        index = 0;
        return this;
    }

    OpenClLaunch mem(OpenClBuffer b) {
        value.set(ADDRESS, 0, b.handle());
        return set(ADDRESS.byteSize());
    }

    /** An element offset or count: a {@code ulong} kernel argument. */
    OpenClLaunch i64(long v) {
        value.set(JAVA_LONG, 0, v);
        return set(Long.BYTES);
    }

    OpenClLaunch i32(int v) {
        value.set(JAVA_INT, 0, v);
        return set(Integer.BYTES);
    }

    OpenClLaunch f32(float v) {
        value.set(JAVA_FLOAT, 0, v);
        return set(Float.BYTES);
    }

    private OpenClLaunch set(long size) {
        int code = cl.setKernelArg(kernel.handle(), index, size, value);
        if (code != OpenCl.SUCCESS) {
            throw new DeviceException("clSetKernelArg(" + kernel.name() + ", argument " + index + ") failed: "
                    + OpenClErrors.describe(code));
        }
        index++;
        return this;
    }

    /** Enqueues groupsX × groupsY work-groups of localX × localY work-items. */
    void groups(long groupsX, long groupsY, int localX, int localY) {
        global.setAtIndex(JAVA_LONG, 0, groupsX * localX);
        global.setAtIndex(JAVA_LONG, 1, groupsY * localY);
        local.setAtIndex(JAVA_LONG, 0, localX);
        local.setAtIndex(JAVA_LONG, 1, localY);
        int code = cl.enqueueKernel(queue, kernel.handle(), 2, global, local);
        if (code != OpenCl.SUCCESS) {
            throw new DeviceException("clEnqueueNDRangeKernel(" + kernel.name() + ", " + groupsX + "x" + groupsY
                    + " groups of " + localX + "x" + localY + ") failed: " + OpenClErrors.describe(code));
        }
    }

    /** One work-item per element, in groups of {@code local}; the kernel ignores the rounded-up tail. */
    void elements(long n, int local) {
        groups((n + local - 1) / local, 1, local, 1);
    }
}
