package org.reflectrm.cli;

import java.util.function.BiFunction;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.FullFineTune;
import org.reflectrm.model.train.LoraAdapter;
import org.reflectrm.model.train.ParameterSet;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.DeviceTensors;

/**
 * What {@code grad} and {@code bench-train} train: {@code --model} on {@code --device}, with the
 * trainable parameters, their gradients and the activations' scratch in the device's memory.
 * Closing it frees them all, then the device and the backend.
 */
final class TrainableModel implements AutoCloseable {
    final Backend backend;
    final Device device;
    final Qwen3Model base;
    final ParameterSet params;
    final Allocator scratch;
    private final DeviceTensors frozen;

    TrainableModel(CommonOptions common) {
        backend = common.backend();
        try {
            device = common.computeDevice(backend);
            try {
                base = common.loadModel();
            } catch (RuntimeException e) {
                device.close();
                throw e;
            }
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        frozen = new DeviceTensors(device);
        params = new ParameterSet(device);
        scratch = Allocator.scratch(device, 64L << 20);
    }

    /** Full fine-tuning: every weight becomes a parameter on the device. */
    Qwen3Model full() {
        return FullFineTune.of(base, params);
    }

    /** The base frozen on the device (uploaded once), with the LoRA adapter {@code adapter} makes in the parameters. */
    Qwen3Model withLora(BiFunction<Qwen3Config, ParameterSet, LoraAdapter> adapter) {
        Qwen3Model onDevice = base.on(frozen);
        return onDevice.with(onDevice.weights(), adapter.apply(base.config(), params));
    }

    @Override
    public void close() {
        try (backend; device; base; frozen; params; scratch) {
            // closed in reverse order: the device's memory before the device
        }
    }
}
