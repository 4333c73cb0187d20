package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import org.reflectrm.model.ModelRuntime;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j generate}: answer a prompt, or continue a token sequence. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Answer a chat prompt (--prompt), or continue a token sequence (--tokens), greedily or by sampling.",
                "--prompt is formatted with the tokenizer's Qwen3 chat template (user turn, after an optional "
                        + "--system turn, then the generation prompt), its text tokenized with no special-token "
                        + "matching; the answer is printed as text, special tokens left out (<think> blocks stay). "
                        + "Ids the model can produce but the tokenizer has no token for (Qwen3 pads its "
                        + "151,936 output rows past the last token, 151,668) are dropped from the text, as "
                        + "Hugging Face's decode drops them; --json still lists them in \"tokens\".",
                "Sampling defaults come from the model's generation_config.json (as in transformers); "
                        + "without one, decoding is greedy. Generation stops at an EOS id unless --ignore-eos."})
final class GenerateCommand implements Callable<Integer>, DefaultsToDemoModel {
    @Mixin
    CommonOptions common;

    @Mixin
    KvCacheOption kvCache;

    @Mixin
    TokenizerOption tokenizerOption;

    @Option(names = "--tokens", paramLabel = "IDS", description = "Comma-separated prompt token ids (not with --prompt).")
    String tokens;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The user's message, chat-formatted (not with --tokens).")
    String prompt;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --prompt: a system message before it.")
    String system;

    @Option(names = "--no-thinking", description = "With --prompt: enable_thinking=False (the prompt ends with an empty think block).")
    boolean noThinking;

    @Option(names = "--stream", description = "With --prompt: print the text as tokens are generated.")
    boolean stream;

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

    @Option(names = "--json", description = "Print {\"tokens\": [...], \"logprobs\": [...], \"finish_reason\": ...}, "
            + "with \"text\" first for --prompt.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        checkPromptFlags();
        common.defaultToDemo(spec.commandLine().getErr());
        int[] ids = tokens != null ? TokenList.parse(tokens) : null;
        if (maxNew < 0) {
            throw new BadInputException("--max-new must be >= 0, got " + maxNew);
        }
        if (greedy && (temperature != null || topK != null || topP != null || minP != null)) {
            throw new BadInputException("--greedy cannot be combined with --temperature, --top-k, --top-p or --min-p");
        }
        // Checked here, before the model loads, so the message names the flag.
        if (temperature != null && !(temperature > 0 && !temperature.isInfinite())) {
            throw new BadInputException("--temperature must be > 0, got " + temperature + " (use --greedy for temperature 0)");
        }
        if (topK != null && topK < 0) {
            throw new BadInputException("--top-k must be >= 0 (0: off), got " + topK);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new BadInputException("--top-p must be in (0, 1], got " + topP);
        }
        if (minP != null && !(minP >= 0 && minP <= 1)) {
            throw new BadInputException("--min-p must be in [0, 1], got " + minP);
        }
        // The tokenizer and chat template are checked before the (larger) model is loaded.
        Tokenizer tokenizer = null;
        if (prompt != null) {
            common.requireModelFolder();
            tokenizer = tokenizerOption.load(common.model);
            Qwen3ChatTemplate template = TokenizerFiles.chatTemplate(tokenizer, tokenizerOption.path(common.model));
            List<ChatMessage> messages = system != null
                    ? List.of(ChatMessage.system(system), ChatMessage.user(prompt)) : List.of(ChatMessage.user(prompt));
            // Structure (the template's own control tokens) may match added tokens; the user's text may not.
            ids = template.encode(messages, true, !noThinking, tokenizer::encode, tokenizer::encodeUntrusted);
        }
        try (ModelRuntime runtime = common.openRuntime(kvCache, spec.commandLine().getErr())) {
            Qwen3Model model = runtime.model();
            TokenList.requireInVocabulary(prompt != null ? "--prompt" : "--tokens", ids, model.config().vocabSize(),
                    common.model);
            GenerationDefaults defaults = GenerationDefaults.load(common.model, model.config());
            SamplingParams sampling = sampling(defaults);
            // Explicit --stop ids replace the EOS ids, so --ignore-eos never drops them.
            Set<Integer> stops = stop != null ? Arrays.stream(stop).boxed().collect(Collectors.toSet())
                    : ignoreEos ? Set.of() : defaults.eos();
            Generator generator = new Generator(runtime.languageModel());
            PrintWriter out = spec.commandLine().getOut();
            AnswerText.Stream streamed = stream ? new AnswerText.Stream(tokenizer, out) : null;
            Generator.TokenListener listener = stream ? (seq, token, logprob) -> streamed.accept(token) : null;
            Generator.Result result = generator.generate(List.of(ids),
                    new GenerationConfig(maxNew, sampling, seed, stops), listener).getFirst();
            if (stream) {
                streamed.finish();
            } else if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                if (tokenizer != null) {
                    o.put("text", AnswerText.decode(tokenizer, result.tokens()));
                }
                ArrayNode t = o.putArray("tokens");
                Arrays.stream(result.tokens()).forEach(t::add);
                ArrayNode lp = o.putArray("logprobs");
                Arrays.stream(result.logprobs()).forEach(lp::add);
                o.put("finish_reason", result.finishReason());
                out.println(mapper.writeValueAsString(o));
            } else if (tokenizer != null) {
                out.println(AnswerText.decode(tokenizer, result.tokens()));
            } else {
                out.println(Arrays.stream(result.tokens()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
            }
            out.flush();
        }
        return 0;
    }

    /** --tokens or --prompt, exactly one; the chat and text flags only with --prompt. */
    private void checkPromptFlags() {
        if (tokens != null && prompt != null) {
            throw new BadInputException("--tokens and --prompt are mutually exclusive: give token ids or a text prompt, not both");
        }
        if (tokens == null && prompt == null) {
            throw new BadInputException("generate needs a prompt: give --tokens IDS or --prompt TEXT");
        }
        if (prompt == null) {
            for (var flag : List.of(
                    Map.entry("--system", system != null), Map.entry("--no-thinking", noThinking),
                    Map.entry("--stream", stream), Map.entry("--tokenizer", tokenizerOption.tokenizer != null))) {
                if (flag.getValue()) {
                    throw new BadInputException(flag.getKey() + " works with --prompt only (--tokens are used as given "
                            + "and printed as ids)");
                }
            }
        }
        if (stream && json) {
            throw new BadInputException("--stream and --json cannot be combined: --stream prints plain text as it comes");
        }
    }

    private SamplingParams sampling(GenerationDefaults d) {
        boolean explicitSampling = temperature != null || topK != null || topP != null || minP != null;
        if (greedy || (!explicitSampling && !d.doSample())) {
            return SamplingParams.GREEDY;
        }
        try {
            return SamplingParams.sample(
                    temperature != null ? temperature : d.doSample() ? d.temperature() : 1.0,
                    topK != null ? topK : d.doSample() ? d.topK() : 0,
                    topP != null ? topP : d.doSample() ? d.topP() : 1.0,
                    minP != null ? minP : d.doSample() ? d.minP() : 0.0);
        } catch (IllegalArgumentException e) {
            // The flags were checked in call(), so the bad value is a default from the model folder.
            throw new BadInputException(common.model.resolve("generation_config.json") + ": " + e.getMessage(), e);
        }
    }
}
