package org.reflectrm.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Q8Weights;
import org.reflectrm.model.qwen3.Qwen3Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j quantize}: write an 8-bit copy of a model (the Q8 block format). */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Write an 8-bit copy of a model: every matrix in blocks of 32 signed bytes with one F32 scale "
                + "(1.125 bytes per weight), norms as they are.",
                "The copy loads in info, logits, generate, judge, eval and bench on the CPU; the GPU backends refuse it."})
final class QuantizeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output model folder.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (out.toAbsolutePath().normalize().equals(common.model.toAbsolutePath().normalize())) {
            throw new BadInputException("--out must differ from --model: the model is read while its 8-bit copy is written");
        }
        try (Qwen3Model model = common.loadModel()) {
            if (model.weights().quantized()) {
                throw new BadInputException(common.model + " is already quantized");
            }
            long before = model.weights().byteSize();
            long matrices = model.weights().named().values().stream().filter(Q8Weights::quantizable).count();
            long after = Q8Weights.save(out, common.model, model.weights().named());
            var err = spec.commandLine().getErr();
            err.printf("quantized %d matrices of %s to 8 bits: %.1f MiB -> %.1f MiB; saved to %s%n", matrices, common.model,
                    before / 1048576.0, after / 1048576.0, out);
            err.flush();
        }
        return 0;
    }
}
