package org.reflectrm.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.ModelRuntime;
import org.reflectrm.model.qwen3.Qwen3Model;
import picocli.CommandLine.Option;

/** Options every model command shares: the model folder, threads, verbosity. */
final class CommonOptions {
    // Not required here so that judge, eval, generate and data sample can default to the demo
    // judge; Main requires it for every other command (DefaultsToDemoModel).
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (config.json and *.safetensors); judge, generate and data sample "
                    + "default to the bundled demo judge.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors; when training on a GPU, also the bytes "
            + "each step moves across the bus.")
    boolean verbose;

    @Option(names = "--device", paramLabel = "KIND", defaultValue = "cpu",
            description = "Where to compute: cpu, opencl, cuda, cuda:N (the GPU of ordinal N) or auto (CUDA, else an "
                    + "OpenCL GPU, else the CPU). "
                    + "Default: ${DEFAULT-VALUE}, the deterministic reference.")
    String device = "cpu";

    /**
     * Where a command that runs on the one model definition computes: a GPU for {@code opencl},
     * {@code cuda}, or {@code auto} when one is found; else the host, through {@code backend}.
     */
    org.reflectrm.kernels.device.Device computeDevice(Backend backend) {
        return ModelRuntime.openDevice(device)
                .orElseGet(() -> new org.reflectrm.kernels.device.HostDevice(backend));
    }

    /** For commands that default to the demo judge: {@code --model}, else the demo's folder (said on {@code err}). */
    void defaultToDemo(java.io.PrintWriter err) {
        model = DemoModel.orDefault(model, err);
    }

    Backend backend() {
        int n = threadCount();
        if (n < 1) {
            throw new BadInputException("--threads must be at least 1, got " + n);
        }
        return new CpuBackend(n);
    }

    /** The model on {@code --device}, computing with {@code --threads} (see {@link ModelRuntime#open}). */
    ModelRuntime openRuntime(java.io.PrintWriter err) {
        return ModelRuntime.open(model, device, threadCount(), err);
    }

    /** {@link #openRuntime(java.io.PrintWriter)} with the KV caches {@code kvCache} names. */
    ModelRuntime openRuntime(KvCacheOption kvCache, java.io.PrintWriter err) {
        return ModelRuntime.open(model, device, threadCount(), kvCache.type(), err);
    }

    /** {@code --threads}, or every core. */
    int threadCount() {
        return threads == null ? Runtime.getRuntime().availableProcessors() : threads;
    }

    /** Fails with the usual message unless {@code --model} is a folder. */
    void requireModelFolder() {
        if (!Files.isDirectory(model)) {
            throw new BadInputException(model + ": not a model folder (expected a directory with config.json)");
        }
    }

    Qwen3Model loadModel() {
        requireModelFolder();
        return Qwen3Model.load(model);
    }
}
