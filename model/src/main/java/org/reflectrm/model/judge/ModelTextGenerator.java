package org.reflectrm.model.judge;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.generate.Qwen3LanguageModel;
import org.reflectrm.model.generate.GenerationConfig;
import org.reflectrm.model.generate.Generator;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.generate.SamplingParams;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * {@link TextGenerator} on a Qwen3 model: one batched generation per call (shared prompt
 * prefixes prefilled once), stopping each sequence at {@code <|im_end|>} or the model's EOS.
 */
public final class ModelTextGenerator implements TextGenerator {
    private final Generator generator;
    private final Tokenizer tokenizer;
    private final Set<Integer> stops = new HashSet<>();

    public ModelTextGenerator(Qwen3Model model, Backend backend, Tokenizer tokenizer) {
        this(new Qwen3LanguageModel(model, backend), tokenizer);
    }

    /** Generates on any {@link LanguageModel}, e.g. one resident on a GPU. */
    public ModelTextGenerator(LanguageModel model, Tokenizer tokenizer) {
        this.generator = new Generator(model);
        this.tokenizer = tokenizer;
        stops.addAll(stopTokens(model.config(), tokenizer));
    }

    /** Where a judgment ends: the model's EOS tokens and the chat template's {@code <|im_end|>}. */
    public static Set<Integer> stopTokens(org.reflectrm.model.qwen3.Qwen3Config config, Tokenizer tokenizer) {
        Set<Integer> stops = new HashSet<>(config.eosTokenIds());
        tokenizer.tokenId("<|im_end|>").ifPresent(stops::add);
        return stops;
    }

    /** The text of generated tokens, special tokens left out. */
    public static String text(Tokenizer tokenizer, int[] tokens) {
        // Model rows past the tokenizer's ids have no text (HF's decode drops them too).
        int[] known = java.util.Arrays.stream(tokens).filter(tokenizer::hasToken).toArray();
        return tokenizer.decode(known, true);
    }

    /**
     * One token as a reader should see it: its decoded text, a special token as {@code ⟨|im_end|⟩}
     * (its content without the angle brackets, between ⟨ ⟩), and an id the tokenizer lacks as
     * {@code ⟨#id⟩}. A character split over several tokens shows as U+FFFD in each part.
     */
    public static String tokenText(Tokenizer tokenizer, int id) {
        if (!tokenizer.hasToken(id)) {
            return "⟨#" + id + "⟩";
        }
        if (tokenizer.isSpecial(id)) {
            String t = tokenizer.tokens(new int[] {id})[0];
            if (t.startsWith("<") && t.endsWith(">") && t.length() > 2) {
                t = t.substring(1, t.length() - 1);
            }
            return "⟨" + t + "⟩";
        }
        return tokenizer.decode(new int[] {id}, false);
    }

    @Override
    public List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens) {
        return generateGroups(List.of(prompts), temperature, new long[] {seed}, maxNewTokens).getFirst();
    }

    /** All groups decode as one batch (one wide batch is what a GPU wants). */
    @Override
    public List<List<Output>> generateGroups(List<List<int[]>> groups, double temperature, long[] seeds, int maxNewTokens) {
        SamplingParams sampling = temperature == 0 ? SamplingParams.GREEDY
                : new SamplingParams(false, temperature, 0, 1.0, 0.0);
        List<Generator.Result> results = generator.generateGroups(groups, seeds,
                new GenerationConfig(maxNewTokens, sampling, seeds.length == 0 ? 0 : seeds[0], stops), null);
        List<List<Output>> out = new ArrayList<>();
        int at = 0;
        for (List<int[]> group : groups) {
            List<Output> outputs = new ArrayList<>();
            for (int j = 0; j < group.size(); j++) {
                outputs.add(output(results.get(at++)));
            }
            out.add(outputs);
        }
        return out;
    }

    private Output output(Generator.Result r) {
        float[] lp = new float[r.logprobs().length];
        for (int i = 0; i < lp.length; i++) {
            lp[i] = (float) r.logprobs()[i];
        }
        return new Output(text(tokenizer, r.tokens()), r.tokens(), lp);
    }
}
