package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.Qwen3Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j generate}: continue a token sequence. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a token sequence, greedily or by sampling.",
                "Sampling defaults come from the model's generation_config.json (as in transformers); "
                        + "without one, decoding is greedy. Generation stops at an EOS id unless --ignore-eos."})
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--tokens", required = true, paramLabel = "IDS", description = "Comma-separated prompt token ids.")
    String tokens;

    @Option(names = "--max-new", paramLabel = "N", defaultValue = "64", description = "Most new tokens (default ${DEFAULT-VALUE}).")
    int maxNew;

    @Option(names = "--greedy", description = "Always take the most likely token.")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature (> 0).")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens (0: off).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass (1: off).")
    Double topP;

    @Option(names = "--min-p", paramLabel = "M", description = "Drop tokens below M times the top probability (0: off).")
    Double minP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", paramLabel = "IDS", split = ",", description = "Stop token ids (default: the model's EOS ids).")
    int[] stop;

    @Option(names = "--ignore-eos", description = "Do not stop at the model's EOS ids (ids given with --stop still stop).")
    boolean ignoreEos;

    @Option(names = "--json", description = "Print {\"tokens\": [...], \"logprobs\": [...], \"finish_reason\": ...}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int[] prompt = TokenList.parse(tokens);
        if (maxNew < 0) {
            throw new BadInputException("--max-new must be >= 0, got " + maxNew);
        }
        if (greedy && (temperature != null || topK != null || topP != null || minP != null)) {
            throw new BadInputException("--greedy cannot be combined with --temperature, --top-k, --top-p or --min-p");
        }
        try (Backend backend = common.backend(); Qwen3Model model = common.loadModel()) {
            GenerationDefaults defaults = GenerationDefaults.load(common.model, model.config());
            SamplingParams sampling = sampling(defaults);
            // Explicit --stop ids replace the EOS ids, so --ignore-eos never drops them.
            Set<Integer> stops = stop != null ? Arrays.stream(stop).boxed().collect(Collectors.toSet())
                    : ignoreEos ? Set.of() : defaults.eos();
            Generator generator = new Generator(model, backend);
            Generator.Result result = generator.generate(List.of(prompt),
                    new GenerationConfig(maxNew, sampling, seed, stops)).getFirst();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                ArrayNode t = o.putArray("tokens");
                Arrays.stream(result.tokens()).forEach(t::add);
                ArrayNode lp = o.putArray("logprobs");
                Arrays.stream(result.logprobs()).forEach(lp::add);
                o.put("finish_reason", result.finishReason());
                out.println(mapper.writeValueAsString(o));
            } else {
                out.println(Arrays.stream(result.tokens()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
            }
            out.flush();
        }
        return 0;
    }

    private SamplingParams sampling(GenerationDefaults d) {
        boolean explicitSampling = temperature != null || topK != null || topP != null || minP != null;
        if (greedy || (!explicitSampling && !d.doSample())) {
            return SamplingParams.GREEDY;
        }
        return SamplingParams.sample(
                temperature != null ? temperature : d.doSample() ? d.temperature() : 1.0,
                topK != null ? topK : d.doSample() ? d.topK() : 0,
                topP != null ? topP : d.doSample() ? d.topP() : 1.0,
                minP != null ? minP : d.doSample() ? d.minP() : 0.0);
    }
}
