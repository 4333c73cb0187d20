package org.reflectrm.kernels.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.reflectrm.kernels.cuda.CudaDevice;
import org.reflectrm.kernels.opencl.OpenClDevice;

/**
 * Chooses where a model computes from a {@code --device} value: {@code cpu} (no device: the
 * host backend), {@code opencl} (the first OpenCL device, a GPU if there is one), {@code cuda}
 * (the first NVIDIA GPU), {@code cuda:N} (the GPU of ordinal N, as {@code devices} lists them:
 * what a Spark executor given GPU N by the cluster asks for) or {@code auto} (CUDA, else an
 * OpenCL GPU, else the CPU; a CPU OpenCL implementation such as PoCL is never chosen
 * automatically, since the host backend is faster).
 */
public final class Devices {
    public static final List<String> KINDS = List.of("cpu", "opencl", "cuda", "auto");

    private Devices() {
    }

    /**
     * The device for {@code kind}, or empty for the CPU. Throws {@link IllegalArgumentException}
     * for an unknown kind and {@link DeviceException} when the asked-for device is absent.
     */
    public static Optional<Device> open(String kind) {
        String k = kind.toLowerCase(Locale.ROOT);
        Integer ordinal = cudaOrdinal(k);
        if (ordinal != null) {
            return Optional.of(CudaDevice.open(ordinal));
        }
        return switch (k) {
            case "cpu" -> Optional.empty();
            case "opencl" -> Optional.of(OpenClDevice.open(false));
            case "cuda" -> Optional.of(CudaDevice.open(0));
            case "auto" -> auto();
            default -> throw new IllegalArgumentException("unknown device '" + kind + "': expected one of " + KINDS
                    + " or cuda:N");
        };
    }

    /** Whether {@code kind} names a device {@link #open} knows: one of {@link #KINDS}, or {@code cuda:N}. */
    public static boolean isKnown(String kind) {
        String k = kind.toLowerCase(Locale.ROOT);
        return KINDS.contains(k) || cudaOrdinal(k) != null;
    }

    /** N of {@code cuda:N} (N a non-negative decimal), else null. */
    private static Integer cudaOrdinal(String kind) {
        if (!kind.startsWith("cuda:") || kind.length() == 5 || kind.length() > 9) {
            return null;
        }
        for (int i = 5; i < kind.length(); i++) {
            if (!Character.isDigit(kind.charAt(i))) {
                return null;
            }
        }
        return Integer.parseInt(kind.substring(5));
    }

    private static Optional<Device> auto() {
        if (!CudaDevice.list().isEmpty()) {
            return Optional.of(CudaDevice.open(0));
        }
        try {
            return Optional.of(OpenClDevice.open(true));
        } catch (DeviceException noGpu) {
            return Optional.empty();
        }
    }

    /** Every device found, one line each, CUDA first; the CPU is always last. */
    public static List<String> list(int cpuThreads) {
        List<String> lines = new ArrayList<>();
        CudaDevice.list().forEach(d -> lines.add("cuda   " + d));
        OpenClDevice.list().forEach(d -> lines.add("opencl " + d));
        lines.add("cpu    " + cpuThreads + " threads, Java Vector API");
        return lines;
    }
}
