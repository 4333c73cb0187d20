package org.reflectrm.cli;

import org.reflectrm.model.ModelRuntime;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.generate.Sampler;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j logits}: F32 logits of every position of a token sequence. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = {"Print the F32 logits of every position of a token sequence.",
                "Give the sequence as --tokens IDS, or as --text S, which is tokenized as Hugging Face's "
                        + "encode(S, add_special_tokens=False) does (added tokens such as <|im_start|> in S become "
                        + "their ids; no chat formatting)."})
final class LogitsCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    TokenizerOption tokenizerOption;

    @Option(names = "--tokens", paramLabel = "IDS", description = "Comma-separated token ids (not with --text).")
    String tokens;

    @Option(names = "--text", paramLabel = "S", description = "Text to tokenize (not with --tokens).")
    String text;

    @Option(names = "--json", description = "Print {\"logits\": [[...], ...]}, one row per position.")
    boolean json;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5",
            description = "Without --json: show the K best tokens per position (default ${DEFAULT-VALUE}).")
    int top;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if ((tokens == null) == (text == null)) {
            throw new BadInputException(tokens == null ? "logits needs a sequence: give --tokens IDS or --text S"
                    : "--tokens and --text are mutually exclusive: give one");
        }
        if (text == null && tokenizerOption.tokenizer != null) {
            throw new BadInputException("--tokenizer works with --text only");
        }
        int[] ids;
        if (text != null) {
            common.requireModelFolder();
            ids = tokenizerOption.load(common.model).encode(text);
            if (ids.length == 0) {
                throw new BadInputException("--text: the text encodes to no tokens; give at least one character");
            }
        } else {
            ids = TokenList.parse(tokens);
        }
        try (ModelRuntime runtime = common.openRuntime(spec.commandLine().getErr())) {
            Qwen3Model model = runtime.model();
            TokenList.requireInVocabulary(text != null ? "--text" : "--tokens", ids, model.config().vocabSize(), common.model);
            int vocab = model.config().vocabSize();
            float[] all = allLogits(runtime, ids);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                writeJson(out, all, ids.length, vocab);
            } else {
                for (int p = 0; p < ids.length; p++) {
                    out.print("position " + p + " (token " + ids[p] + "):");
                    float[] row = java.util.Arrays.copyOfRange(all, p * vocab, (p + 1) * vocab);
                    for (int k = 0; k < Math.min(top, vocab); k++) {
                        int best = Sampler.argmax(row);
                        out.printf(" %d=%.4f", best, row[best]);
                        row[best] = Float.NEGATIVE_INFINITY;
                    }
                    out.println();
                }
            }
            out.flush();
        }
        return 0;
    }

    /** Logits at every position of {@code ids}, {@code [length × vocab]}, on the runtime's device. */
    private static float[] allLogits(ModelRuntime runtime, int[] ids) {
        Qwen3Model model = runtime.deviceModel();
        try (Allocator scratch = Allocator.scratch(runtime.device(), 64L << 20);
             KvCache cache = new KvCache(model.config(), runtime.device(), ids.length, null, 0)) {
            Tensor logits = model.forward(new Ops(scratch), List.of(ids), List.of(cache), true);
            return logits.toFloatArray();
        }
    }

    private static void writeJson(PrintWriter out, float[] all, int rows, int vocab) throws IOException {
        try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.writeStartObject();
            g.writeArrayFieldStart("logits");
            for (int p = 0; p < rows; p++) {
                g.writeStartArray();
                for (int v = 0; v < vocab; v++) {
                    g.writeNumber(all[p * vocab + v]);
                }
                g.writeEndArray();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        out.println();
    }
}
