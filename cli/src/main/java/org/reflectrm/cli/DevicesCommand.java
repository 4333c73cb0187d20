package org.reflectrm.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j devices}: what {@code --device} can choose from on this machine. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the compute devices --device can use: CUDA GPUs, OpenCL devices and the CPU.")
final class DevicesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Devices.list(Runtime.getRuntime().availableProcessors()).forEach(out::println);
        out.flush();
        return 0;
    }
}
