package org.reflectrm.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.train.Backprop;
import org.reflectrm.model.train.LoraAdapter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j grad}: the next-token loss of one sequence and the gradient norm of every weight. */
@Command(name = "grad", mixinStandardHelpOptions = true,
        description = {"Compute the next-token loss of a token sequence and the L2 norm of the gradient of every "
                + "weight (or of every LoRA tensor with --adapter), on the CPU or, with --device, on a GPU.",
                "--loss-mask M: M[t]=1 counts token t+1, predicted at position t; the loss is the mean over "
                        + "counted positions. M has T-1 entries, or T with a last 0. Default: every position counts."})
final class GradCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--tokens", required = true, paramLabel = "IDS", description = "Comma-separated token ids (at least 2).")
    String tokens;

    @Option(names = "--loss-mask", paramLabel = "M", description = "Comma-separated 0/1 flags (see above).")
    String lossMask;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT LoRA adapter folder: report the gradients of its tensors, the base stays frozen.")
    Path adapter;

    @Option(names = "--json", description = "Print {\"loss\": x, \"grads\": {\"<name>\": {\"norm\": n}}}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        int[] ids = TokenList.parse(tokens);
        if (ids.length < 2) {
            throw new BadInputException("--tokens: a loss needs at least 2 tokens, got " + ids.length);
        }
        boolean[] mask = parseMask(lossMask, ids.length);
        try (TrainableModel t = new TrainableModel(common)) {
            TokenList.requireInVocabulary("--tokens", ids, t.base.config().vocabSize(), common.model);
            Qwen3Model model = adapter == null ? t.full()
                    : t.withLora((config, params) -> LoraAdapter.load(adapter, config, params));
            List<boolean[]> masks = List.of(mask);
            double loss = Backprop.lossAndGradients(model, t.scratch, List.of(ids), masks,
                    Backprop.countTargets(masks));
            print(loss, t.params.gradNorms());
        }
        return 0;
    }

    /** Parses the mask rule of the contract: T−1 flags, or T with a last 0. */
    static boolean[] parseMask(String text, int tokens) {
        boolean[] mask = new boolean[tokens - 1];
        if (text == null) {
            java.util.Arrays.fill(mask, true);
            return mask;
        }
        String[] parts = text.split(",", -1);
        if (parts.length != tokens - 1 && parts.length != tokens) {
            throw new BadInputException("--loss-mask has " + parts.length + " entries for " + tokens
                    + " tokens; expected " + (tokens - 1) + " (or " + tokens + " with a last 0)");
        }
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            if (!p.equals("0") && !p.equals("1")) {
                throw new BadInputException("--loss-mask entry " + i + " is '" + p + "'; expected 0 or 1");
            }
            if (i < mask.length) {
                mask[i] = p.equals("1");
            } else if (p.equals("1")) {
                throw new BadInputException("--loss-mask entry " + i + " (the last token) must be 0: nothing follows it to predict");
            }
        }
        if (Backprop.countTargets(List.of(mask)) == 0) {
            throw new BadInputException("--loss-mask counts no position: the loss would be undefined");
        }
        return mask;
    }

    private void print(double loss, Map<String, Double> norms) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (!json) {
            out.printf("loss %.6f%n", loss);
            norms.forEach((name, n) -> out.printf("%-60s %.6e%n", name, n));
            out.flush();
            return;
        }
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.writeStartObject();
            g.writeNumberField("loss", loss);
            g.writeObjectFieldStart("grads");
            for (Map.Entry<String, Double> e : norms.entrySet()) {
                g.writeObjectFieldStart(e.getKey());
                g.writeNumberField("norm", e.getValue());
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        }
        out.println();
        out.flush();
    }
}
