package org.reflectrm.model;

import java.util.Optional;
import java.nio.file.Path;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceException;
import org.reflectrm.kernels.device.Devices;
import org.reflectrm.kernels.device.Transfers;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.generate.Qwen3LanguageModel;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.DeviceTensors;

/**
 * A loaded model on the chosen {@code --device}: the host backend and model always (the
 * checkpoint is memory-mapped there), and, for a GPU, the device with the weights copied onto
 * it once ({@link Qwen3Model#on}); the same model then runs there, fused. Closes everything it
 * opened, in reverse order.
 */
public final class ModelRuntime implements AutoCloseable {
    private final Backend backend;
    private final Qwen3Model model;
    /** The device computed on: the host's, or a GPU. */
    private final Device device;
    /** The GPU's copy of the weights, or null on the CPU. */
    private final DeviceTensors gpuWeights;
    /** The model whose weights are on {@link #device}. */
    private final Qwen3Model deviceModel;
    private final Qwen3LanguageModel languageModel;

    private ModelRuntime(Backend backend, Qwen3Model model, Device gpu, DType kvType) {
        this.backend = backend;
        this.model = model;
        this.device = gpu != null ? gpu : new HostDevice(backend);
        this.gpuWeights = gpu != null ? new DeviceTensors(gpu) : null;
        try {
            this.deviceModel = gpu != null ? model.on(gpuWeights) : model;
        } catch (RuntimeException e) {
            gpuWeights.close();
            throw e;
        }
        this.languageModel = new Qwen3LanguageModel(deviceModel, device, kvType);
    }

    /**
     * Opens the device {@code deviceKind} names ({@code cpu}, {@code opencl}, {@code cuda} or
     * {@code auto}) and loads the model folder onto it, computing on the host with {@code threads}
     * threads; a GPU choice is told on {@code err} (with {@code auto}, so the user knows which one
     * was taken). Bad input (no such folder, an absent device, weights that do not fit) is a
     * {@link BadInputException}.
     */
    public static ModelRuntime open(Path modelDir, String deviceKind, int threads, java.io.PrintWriter err) {
        return open(modelDir, deviceKind, threads, DType.F32, err);
    }

    /**
     * {@link #open(Path, String, int, java.io.PrintWriter)} with KV caches of {@code kvType}: F32,
     * or BF16, which only the CPU kernels read (a GPU with it is bad usage).
     */
    public static ModelRuntime open(Path modelDir, String deviceKind, int threads, DType kvType,
                                    java.io.PrintWriter err) {
        if (kvType != DType.F32 && kvType != DType.BF16) {
            throw new BadInputException("--kv-cache must be f32 or bf16, got " + kvType);
        }
        Optional<Device> device = openDevice(deviceKind);
        if (device.isPresent() && kvType != DType.F32) {
            device.get().close();
            throw new BadInputException("--kv-cache " + kvType.name().toLowerCase(java.util.Locale.ROOT)
                    + ": only the CPU kernels read a BF16 KV cache; use --device cpu, or --kv-cache f32 on "
                    + deviceKind);
        }
        Backend backend = null;
        Qwen3Model model = null;
        try {
            if (threads < 1) {
                throw new BadInputException("--threads must be at least 1, got " + threads);
            }
            if (!java.nio.file.Files.isDirectory(modelDir)) {
                throw new BadInputException(modelDir + ": not a model folder (expected a directory with config.json)");
            }
            backend = new CpuBackend(threads);
            model = Qwen3Model.load(modelDir);
            if (device.isPresent() && model.weights().quantized()) {
                String why = "the GPU backends do not read 8-bit (quantized) weights";
                if (!deviceKind.equalsIgnoreCase("auto")) {
                    throw new BadInputException("--device " + deviceKind + ": " + why
                            + "; use --device cpu, or the model before `reflectrm-j quantize`");
                }
                err.println("reflectrm-j: " + why + "; computing on the CPU instead");
                device.get().close();
                device = Optional.empty();
            }
            if (device.isPresent()) {
                String misfit = misfit(model.weights().byteSize(), device.get().memoryBytes());
                if (misfit != null && deviceKind.equalsIgnoreCase("auto")) {
                    err.println("reflectrm-j: " + misfit + "; computing on the CPU instead");
                    device.get().close();
                    device = Optional.empty();
                } else if (misfit != null) {
                    throw new BadInputException("--device " + deviceKind + ": " + misfit);
                }
            }
            ModelRuntime runtime = new ModelRuntime(backend, model, device.orElse(null), kvType);
            if (runtime.onGpu()) {
                err.printf("reflectrm-j: computing on %s (%.1f MiB of weights on the device)%n", runtime.deviceName(),
                        runtime.gpuWeights.bytes() / (double) (1L << 20));
                err.flush();
            }
            return runtime;
        } catch (RuntimeException e) {
            if (model != null) {
                model.close();
            }
            if (backend != null) {
                backend.close();
            }
            device.ifPresent(Device::close);
            throw e;
        }
    }

    /**
     * Why weights of {@code weightBytes} do not fit a device of {@code deviceBytes}, or null when
     * they do. A tenth of the memory is kept for activations, KV caches and the driver, so a model
     * that would fail half-way through its upload is refused before it starts.
     */
    public static String misfit(long weightBytes, long deviceBytes) {
        if (weightBytes <= deviceBytes - deviceBytes / 10) {
            return null;
        }
        return String.format("the model's weights (%.1f GiB) do not fit the device's memory (%.1f GiB, "
                + "of which 90%% may hold weights)", weightBytes / 1073741824.0, deviceBytes / 1073741824.0);
    }

    /** A device the user asked for but that is absent is bad usage (exit code 2), with the reason. */
    public static Optional<Device> openDevice(String kind) {
        try {
            return Devices.open(kind);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--device: " + e.getMessage());
        } catch (DeviceException e) {
            throw new BadInputException("--device " + kind + ": " + e.getMessage(), e);
        }
    }

    public Backend backend() {
        return backend;
    }

    public Qwen3Model model() {
        return model;
    }

    public LanguageModel languageModel() {
        return languageModel;
    }

    /** Whether the model computes on a GPU (else on the CPU). */
    public boolean onGpu() {
        return gpuWeights != null;
    }

    /** The device the model computes on: the host's, or the GPU holding its weights. */
    public Device device() {
        return device;
    }

    /** The model with its weights on {@link #device()}: {@link #model()} itself on the CPU. */
    public Qwen3Model deviceModel() {
        return deviceModel;
    }

    /** Decode steps that ran as a replay of a recording (CUDA), since the runtime opened. */
    public long replayedSteps() {
        return languageModel.replayedSteps();
    }

    /**
     * The device's copy bandwidth in bytes/s (read plus write), the best of a few timed copies of
     * a large buffer: the ceiling a memory-bound decode is measured against.
     */
    public double deviceBandwidth() {
        long bytes = Math.min(512L << 20, device.memoryBytes() / 8);
        try (var src = device.allocate(bytes); var dst = device.allocate(bytes)) {
            long floats = bytes / 4;
            device.copy(src, 0, dst, 0, floats);
            device.synchronize();
            double best = 0;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                device.copy(src, 0, dst, 0, floats);
                device.synchronize();
                best = Math.max(best, 2.0 * bytes / ((System.nanoTime() - t0) / 1e9));
            }
            return best;
        }
    }

    /** What the device has moved across the bus so far (the weights' upload included), or null on the CPU. */
    public Transfers.Count transfers() {
        return onGpu() ? device.transfers() : null;
    }

    /** The device's count of the memory it holds, or null on the CPU. */
    public org.reflectrm.kernels.device.Allocations allocations() {
        return onGpu() ? device.allocations() : null;
    }

    /** Where this computes, for logs and reports. */
    public String deviceName() {
        return languageModel.device();
    }

    @Override
    public void close() {
        if (gpuWeights != null) {
            device.synchronize();
            gpuWeights.close();
            device.close();
        }
        model.close();
        backend.close();
    }
}
