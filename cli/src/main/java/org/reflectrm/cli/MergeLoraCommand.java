package org.reflectrm.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.LoraAdapter;
import org.reflectrm.model.train.LoraMerge;
import org.reflectrm.model.train.ModelFiles;
import org.reflectrm.model.train.ParameterSet;
import org.reflectrm.tensor.DeviceTensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j merge-lora}: fold a PEFT LoRA adapter into its base model. */
@Command(name = "merge-lora", mixinStandardHelpOptions = true,
        description = "Merge a PEFT LoRA adapter into its base model (W + alpha/r * B A, in F32, on --device) and save a full model folder.")
final class MergeLoraCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter folder (adapter_config.json, adapter_model.safetensors).")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output model folder.")
    Path out;

    @Option(names = "--dtype", paramLabel = "T", description = "dtype of the saved weights: F32, BF16 or F16 (default: the base's).")
    String dtype;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (out.toAbsolutePath().normalize().equals(common.model.toAbsolutePath().normalize())) {
            throw new BadInputException("--out must differ from --model: the base is read while the merged model is written");
        }
        try (Backend backend = common.backend(); Qwen3Model base = common.loadModel();
             ParameterSet params = new ParameterSet(backend);
             Device device = common.computeDevice(backend);
             DeviceTensors merged = new DeviceTensors(new HostDevice(backend))) {
            LoraAdapter lora = LoraAdapter.load(adapter, base.config(), params);
            DType type = dtype == null ? base.weights().embedTokens().dtype() : DType.fromFlag(dtype);
            if (type != DType.F32 && type != DType.BF16 && type != DType.F16) {
                throw new BadInputException("--dtype must be F32, BF16 or F16, got " + dtype);
            }
            ModelFiles.save(out, common.model, LoraMerge.merge(base.weights(), lora, device, merged), type);
        }
        spec.commandLine().getErr().println("merged " + adapter + " into " + common.model + "; saved to " + out);
        spec.commandLine().getErr().flush();
        return 0;
    }
}
