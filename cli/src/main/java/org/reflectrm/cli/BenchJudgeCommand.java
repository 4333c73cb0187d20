package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import org.reflectrm.model.ModelRuntime;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.ModelTextGenerator;
import org.reflectrm.model.judge.TextGenerator;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j bench-judge}: the cost of a reflect judgment against a greedy one on the
 * same pair, and batched against one-at-a-time generation of the rollouts. Analyses run up to
 * {@code --analysis-tokens} (a random checkpoint seldom samples EOS, so in practice all of
 * them); on a random checkpoint, whose text never parses, a valid
 * verdict sentence is appended to each generated text so that the reflection stage runs as it
 * would on a trained model (its prompts then hold the generated analyses).
 */
@Command(name = "bench-judge", mixinStandardHelpOptions = true,
        description = "Time one reflect judgment (N rollouts + N-1 reflections) against one greedy judgment, and the N "
                + "rollouts batched against one at a time.")
final class BenchJudgeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    KvCacheOption kvCache;

    @Option(names = "--rollouts", paramLabel = "N", defaultValue = "8", description = "Rollouts (default ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--analysis-tokens", paramLabel = "K", defaultValue = "128", description = "Tokens per analysis (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Appends a verdict to texts that have none, alternating 1 and 2, so every judgment parses. */
    private record Parseable(TextGenerator inner) implements TextGenerator {
        @Override
        public List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens) {
            List<Output> out = new ArrayList<>();
            List<Output> raw = inner.generate(prompts, temperature, seed, maxNewTokens);
            for (int i = 0; i < raw.size(); i++) {
                String text = raw.get(i).text();
                Verdict.Kind kind = text.contains("Critique") ? Verdict.Kind.CRITIQUE : Verdict.Kind.RESPONSE;
                out.add(new Output("<Analysis>" + text + "</Analysis><Result>" + kind.sentence(1 + i % 2) + "</Result>",
                        raw.get(i).tokens(), raw.get(i).logprobs()));
            }
            return out;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (rollouts < 2 || tokens < 1) {
            throw new BadInputException("--rollouts must be at least 2 and --analysis-tokens at least 1");
        }
        Tokenizer tokenizer = TokenizerFiles.load(common.model, "--model");
        JudgePrompts prompts = new JudgePrompts(tokenizer, TokenizerFiles.chatTemplate(tokenizer, common.model),
                JudgeTemplate.bundled(JudgeTemplate.DEFAULT_VERSION));
        List<ChatMessage> conversation = List.of(ChatMessage.user(
                "Explain why the sum of two even numbers is always even, and give an example."));
        String a = "Two even numbers are 2m and 2n, so their sum is 2(m + n), which is even. Example: 4 + 6 = 10.";
        String b = "Even plus even can be odd, for example 2 + 3 = 5.";
        PrintWriter err = spec.commandLine().getErr();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode o = mapper.createObjectNode();
        try (ModelRuntime runtime = common.openRuntime(kvCache, spec.commandLine().getErr())) {
            ModelTextGenerator generator = new ModelTextGenerator(runtime.languageModel(), tokenizer);
            Judge judge = new Judge(new Parseable(generator), prompts);
            Judge.Options greedy = new Judge.Options(Judge.Mode.GREEDY, 1, 1.0, 0.1, 1, tokens);
            Judge.Options reflect = new Judge.Options(Judge.Mode.REFLECT, rollouts, 1.0, 0.1, 1, tokens);
            judge.judge(conversation, a, b, greedy);                              // warm-up
            long t0 = System.nanoTime();
            judge.judge(conversation, a, b, greedy);
            double greedySeconds = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            Judge.Result r = judge.judge(conversation, a, b, reflect);
            double reflectSeconds = (System.nanoTime() - t0) / 1e9;
            err.printf("bench-judge: greedy %.2f s, reflect %.2f s (%d rollouts, %d reflections)%n", greedySeconds,
                    reflectSeconds, r.rollouts().size(), r.reflections().size());
            int[] prompt = prompts.response(conversation, a, b);
            List<int[]> batch = new ArrayList<>();
            for (int i = 0; i < rollouts; i++) {
                batch.add(prompt);
            }
            t0 = System.nanoTime();
            generator.generate(batch, 1.0, 3, tokens);
            double batched = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            for (int i = 0; i < rollouts; i++) {
                generator.generate(List.of(prompt), 1.0, 3 + i, tokens);
            }
            double sequential = (System.nanoTime() - t0) / 1e9;
            o.put("model", common.model.toString());
            o.put("device", runtime.deviceName());
            o.put("threads", runtime.backend().threads());
            o.put("rollouts", rollouts);
            o.put("analysis_tokens", tokens);
            o.put("greedy_s", greedySeconds);
            o.put("reflect_s", reflectSeconds);
            o.put("reflect_over_greedy", reflectSeconds / greedySeconds);
            o.put("reflections_run", r.reflections().size());
            o.put("rollouts_batched_s", batched);
            o.put("rollouts_sequential_s", sequential);
            o.put("batched_speedup", sequential / batched);
            // The prompt lengths, so a peer (bench/peer_judge.py) can run the same workload.
            o.put("response_prompt_tokens", prompt.length);
            var lengths = o.putArray("reflection_prompt_tokens");
            Judge.Item item = new Judge.Item(conversation, a, b);
            for (Judge.Reflection x : r.reflections()) {
                lengths.add(judge.reflectionPrompt(item, r.rollouts(), r.anchor(), x.rollout(), x.rolloutFirst()).length);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? mapper.writeValueAsString(o) : mapper.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        out.flush();
        return 0;
    }
}
