package org.reflectrm.kernels.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Every OpenCL device of every installed platform (ICD), GPUs first. */
final class OpenClPlatforms {
    private OpenClPlatforms() {
    }

    /** One device as the ICD loader reports it; the handles stay valid for the process (they are not reference-counted). */
    record Entry(MemorySegment platform, MemorySegment device, String platformName, String deviceName, long type,
                 long memoryBytes) {

        boolean isGpu() {
            return (type & OpenCl.DEVICE_TYPE_GPU) != 0;
        }

        String typeName() {
            if (isGpu()) {
                return "GPU";
            }
            if ((type & OpenCl.DEVICE_TYPE_CPU) != 0) {
                return "CPU";
            }
            return (type & OpenCl.DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other";
        }

        /** {@code platform / device / type / memory}, for people. */
        String describe() {
            return platformName + " / " + deviceName + " / " + typeName() + " / "
                    + String.format(Locale.ROOT, "%.1f GiB", memoryBytes / (double) (1L << 30));
        }
    }

    /** All devices, GPUs first (otherwise in the platforms' order); empty when no platform is installed. */
    static List<Entry> all(OpenCl cl) {
        List<Entry> entries = new ArrayList<>();
        for (MemorySegment platform : platforms(cl)) {
            String platformName = cl.platformString(platform, OpenCl.PLATFORM_NAME);
            for (MemorySegment device : devices(cl, platform)) {
                entries.add(new Entry(platform, device, platformName, cl.deviceString(device, OpenCl.DEVICE_NAME),
                        cl.deviceLong(device, OpenCl.DEVICE_TYPE), cl.deviceLong(device, OpenCl.DEVICE_GLOBAL_MEM_SIZE)));
            }
        }
        // A stable sort keeps the platforms' order within GPUs and within the rest.
        entries.sort(Comparator.comparing(e -> !e.isGpu()));
        if (entries.stream().anyMatch(e -> e.platformName().contains("Portable Computing Language"))) {
            warnUnlessSignalsChain();
        }
        return entries;
    }

    private static volatile boolean warned;

    /**
     * PoCL's LLVM installs its own SIGSEGV/SIGBUS/... handlers over the JVM's, which HotSpot needs
     * for implicit null checks and safepoints: a JVM that loaded PoCL can later die with a bare
     * "Segmentation fault". The JVM's signal-chaining library (preloaded by the reflectrm-j
     * launcher and the build's test JVMs) prevents it; without it, say so once.
     */
    private static void warnUnlessSignalsChain() {
        String preload = System.getenv("LD_PRELOAD");
        if (warned || preload != null && preload.contains("libjsig")) {
            return;
        }
        warned = true;
        System.err.println("reflectrm-j: warning: PoCL replaces the JVM's signal handlers, which can crash the JVM"
                + " later; start java with LD_PRELOAD=" + System.getProperty("java.home") + "/lib/libjsig.so"
                + " (the reflectrm-j launcher does)");
    }

    private static List<MemorySegment> platforms(OpenCl cl) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int code = cl.platformIds(0, MemorySegment.NULL, count);
            // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no vendor driver is installed.
            if (code == OpenCl.PLATFORM_NOT_FOUND_KHR || code == OpenCl.SUCCESS && count.get(JAVA_INT, 0) == 0) {
                return List.of();
            }
            OpenCl.check(code, "clGetPlatformIDs");
            int n = count.get(JAVA_INT, 0);
            MemorySegment ids = arena.allocate(ADDRESS, n);
            OpenCl.check(cl.platformIds(n, ids, MemorySegment.NULL), "clGetPlatformIDs");
            return handles(ids, n);
        }
    }

    private static List<MemorySegment> devices(OpenCl cl, MemorySegment platform) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int code = cl.deviceIds(platform, OpenCl.DEVICE_TYPE_ALL, 0, MemorySegment.NULL, count);
            if (code == OpenCl.DEVICE_NOT_FOUND) {
                return List.of();
            }
            OpenCl.check(code, "clGetDeviceIDs");
            int n = count.get(JAVA_INT, 0);
            MemorySegment ids = arena.allocate(ADDRESS, n);
            OpenCl.check(cl.deviceIds(platform, OpenCl.DEVICE_TYPE_ALL, n, ids, MemorySegment.NULL), "clGetDeviceIDs");
            return handles(ids, n);
        }
    }

    /** The n handles of an array, copied out so they outlive its arena. */
    private static List<MemorySegment> handles(MemorySegment array, int n) {
        List<MemorySegment> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(MemorySegment.ofAddress(array.getAtIndex(ADDRESS, i).address()));
        }
        return out;
    }
}
