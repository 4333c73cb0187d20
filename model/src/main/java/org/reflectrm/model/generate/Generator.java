package org.reflectrm.model.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.reflectrm.kernels.Backend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;

/**
 * Batched autoregressive generation: one prefill forward over all prompts, then one decode
 * forward per step over the sequences still running, on any {@link LanguageModel} (CPU or GPU).
 */
public final class Generator {
    /**
     * The seed of sequence {@code j}'s random stream under {@code seed}. The plain {@code seed +
     * j·γ} with γ = SplittableRandom's own increment would make stream j stream 0 advanced by j
     * draws: rollout j would sample rollout j−1's next numbers, and a group's rollouts would be
     * shifted copies of one another. Mixing the sum (SplitMix64's finaliser) puts the streams at
     * unrelated points of the generator's cycle.
     */
    static long streamSeed(long seed, int j) {
        long z = seed + (j + 1L) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Shorter shared prefixes are prefilled with the rest: a separate prefill would not pay. */
    static final int MIN_SHARED_PREFIX = 16;

    private final LanguageModel model;
    private boolean sharePrefixes = true;

    public Generator(Qwen3Model model, Backend backend) {
        this(new Qwen3LanguageModel(model, backend));
    }

    public Generator(LanguageModel model) {
        this.model = model;
    }

    public LanguageModel model() {
        return model;
    }

    /** Output of one sequence. {@code finishReason} is "stop" (a stop token) or "length". */
    public record Result(int[] tokens, double[] logprobs, String finishReason) {
    }

    /**
     * Timings of the last {@link #generate} call, in nanoseconds, and the tokens they cover;
     * {@code passes} is how many batches it ran one after another (more than 1 when the whole
     * batch would not fit the device's memory).
     */
    public record Timing(long prefillNanos, int prefillTokens, long decodeNanos, int decodeSteps, int decodeTokens,
                         int passes) {
        Timing plus(Timing o) {
            return new Timing(prefillNanos + o.prefillNanos, prefillTokens + o.prefillTokens,
                    decodeNanos + o.decodeNanos, decodeSteps + o.decodeSteps, decodeTokens + o.decodeTokens,
                    passes + o.passes);
        }
    }

    /** Prompts of one group that run in one pass: the group's seed, and the stream of its first. */
    private record Slice(List<int[]> prompts, long seed, int firstStream) {
    }

    private Timing lastTiming;

    /**
     * Whether prompts that start with the same tokens (N rollouts of one judge prompt, or
     * reflection prompts with a common head) prefill that prefix once and start every sequence's
     * KV cache from it, shared on the CPU (kept once) and copied on a GPU (default on). Off
     * prefills every prompt whole; results agree up to floating-point summation order.
     */
    public Generator sharePrefixes(boolean on) {
        this.sharePrefixes = on;
        return this;
    }

    public Timing lastTiming() {
        return lastTiming;
    }

    /** Hears each token as soon as it is chosen (for streaming output). */
    @FunctionalInterface
    public interface TokenListener {
        /**
         * Token {@code token} was appended to sequence {@code sequence} (its index in the prompt list), with the
         * log-probability that goes into {@link Result#logprobs}. Called on the generating thread, in order,
         * before the next forward pass; an exception thrown here ends the generation.
         */
        void onToken(int sequence, int token, double logprob);
    }

    public List<Result> generate(List<int[]> prompts, GenerationConfig config) {
        return generate(prompts, config, null);
    }

    /**
     * Generates for every prompt, as {@link #generate(List, GenerationConfig)}, telling {@code listener} (if not
     * null) about every token as it is chosen. The results are the same with or without a listener.
     */
    public List<Result> generate(List<int[]> prompts, GenerationConfig config, TokenListener listener) {
        return generateGroups(List.of(prompts), config, listener);
    }

    /**
     * Generates for several groups of prompts in one batch: each group is what one
     * {@link #generate(List, GenerationConfig)} call would get (sequence j of a group draws from
     * the random stream that call would give it, and a group's common prefix is prefilled once),
     * but all groups decode together, so a GPU runs one wide batch instead of several narrow
     * ones. Results come in group order, flattened; the listener sees flat indices. They agree
     * with separate calls up to float summation order.
     */
    public List<Result> generateGroups(List<List<int[]>> groups, GenerationConfig config, TokenListener listener) {
        return generateGroups(groups, null, config, listener);
    }

    /**
     * {@link #generateGroups(List, GenerationConfig, TokenListener)} with a seed per group: group
     * g samples as a {@link #generate} call seeded with {@code seeds[g]} would (null: every
     * group with the config's seed). Independent seeds keep the groups of a batch from sharing
     * random streams (sequence j of every group would otherwise draw the same numbers).
     */
    public List<Result> generateGroups(List<List<int[]>> groups, long[] seeds, GenerationConfig config,
                                       TokenListener listener) {
        if (seeds != null && seeds.length != groups.size()) {
            throw new IllegalArgumentException(groups.size() + " groups but " + seeds.length + " seeds");
        }
        int maxPrompt = 0;
        int index = 0;
        for (List<int[]> group : groups) {
            for (int[] p : group) {
                if (p.length == 0) {
                    throw new BadInputException("prompt " + index + " is empty: generation needs at least one token");
                }
                maxPrompt = Math.max(maxPrompt, p.length);
                index++;
            }
        }
        List<Result> results = new ArrayList<>();
        Timing total = null;
        int done = 0;
        for (List<Slice> pass : passes(groups, seeds, config, maxPrompt)) {
            int offset = done;
            TokenListener shifted = listener == null ? null : (seq, token, lp) -> listener.onToken(offset + seq, token, lp);
            List<Result> part = generatePass(pass, config, shifted);
            results.addAll(part);
            done += part.size();
            total = total == null ? lastTiming : total.plus(lastTiming);
        }
        lastTiming = total;
        return results;
    }

    /**
     * The groups cut into passes that each fit {@link LanguageModel#batchMemoryBudget}: sequences
     * in order, a pass closed when the next one's KV cache and prefill activations would not fit
     * (a group may be cut between passes; its sequences keep their random streams). Everything
     * is one pass where memory is no limit, or when a single sequence alone would not fit (it then
     * fails as it would have).
     */
    private List<List<Slice>> passes(List<List<int[]>> groups, long[] seeds, GenerationConfig config, int maxPrompt) {
        long budget = model.batchMemoryBudget();
        long perPosition = model.config().kvCacheBytesPerPosition();
        long perToken = model.config().prefillActivationBytesPerToken();
        long perSequence = (long) (maxPrompt + config.maxNewTokens()) * perPosition + 4L * model.config().vocabSize();
        List<List<Slice>> passes = new ArrayList<>();
        List<Slice> pass = new ArrayList<>();
        long used = 0;
        for (int g = 0; g < groups.size(); g++) {
            List<int[]> group = groups.get(g);
            long seed = seeds == null ? config.seed() : seeds[g];
            int from = 0;
            for (int j = 0; j < group.size(); j++) {
                long need = perSequence + group.get(j).length * perToken;
                if (used + need > budget && used > 0) {
                    if (j > from) {
                        pass.add(new Slice(group.subList(from, j), seed, from));
                    }
                    passes.add(pass);
                    pass = new ArrayList<>();
                    used = 0;
                    from = j;
                }
                used += need;
            }
            pass.add(new Slice(group.subList(from, group.size()), seed, from));
        }
        passes.add(pass);
        return passes;
    }

    /** One batch: every slice's prompts prefilled together, then decoded together. */
    private List<Result> generatePass(List<Slice> groups, GenerationConfig config, TokenListener listener) {
        List<int[]> prompts = new ArrayList<>();
        groups.forEach(g -> prompts.addAll(g.prompts()));
        int batch = prompts.size();
        int maxPrompt = 0;
        int prefillTokens = 0;
        for (int i = 0; i < batch; i++) {
            if (prompts.get(i).length == 0) {
                throw new BadInputException("prompt " + i + " is empty: generation needs at least one token");
            }
            maxPrompt = Math.max(maxPrompt, prompts.get(i).length);
            prefillTokens += prompts.get(i).length;
        }
        int capacity = maxPrompt + config.maxNewTokens();
        if (capacity > model.config().maxPositionEmbeddings()) {
            throw new BadInputException("prompt of " + maxPrompt + " tokens plus " + config.maxNewTokens()
                    + " new tokens exceeds max_position_embeddings " + model.config().maxPositionEmbeddings());
        }
        Sampler sampler = new Sampler(config.sampling());
        List<LanguageModel.Cache> caches = new ArrayList<>();
        List<LanguageModel.Cache> prefixes = new ArrayList<>();
        List<List<Integer>> outTokens = new ArrayList<>();
        List<List<Double>> outLogprobs = new ArrayList<>();
        String[] finish = new String[batch];
        SplittableRandom[] random = new SplittableRandom[batch];
        try (LanguageModel.Session session = model.open()) {
            for (int i = 0; i < batch; i++) {
                outTokens.add(new ArrayList<>());
                outLogprobs.add(new ArrayList<>());
            }
            long t0 = System.nanoTime();
            // Each group's common prefix (if long enough) is prefilled once, all groups' in one forward.
            int[] shared = new int[groups.size()];
            List<int[]> prefixPrompts = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                List<int[]> group = groups.get(g).prompts();
                shared[g] = sharePrefixes && group.size() > 1 ? sharedPrefix(group) : 0;
                if (shared[g] >= MIN_SHARED_PREFIX) {
                    prefixes.add(session.newCache(shared[g]));
                    prefixPrompts.add(java.util.Arrays.copyOf(group.get(0), shared[g]));
                    prefillTokens -= (group.size() - 1) * shared[g];
                } else {
                    shared[g] = 0;
                    prefixes.add(null);
                }
            }
            if (!prefixPrompts.isEmpty()) {
                session.forward(prefixPrompts, prefixes.stream().filter(java.util.Objects::nonNull).toList());
            }
            List<Integer> active = new ArrayList<>();
            List<int[]> next = new ArrayList<>();
            for (int g = 0, i = 0; g < groups.size(); g++) {
                Slice slice = groups.get(g);
                for (int j = 0; j < slice.prompts().size(); j++, i++) {
                    int[] prompt = prompts.get(i);
                    random[i] = new SplittableRandom(streamSeed(slice.seed(), slice.firstStream() + j));
                    caches.add(shared[g] > 0 ? session.newCache(capacity, prefixes.get(g), shared[g])
                            : session.newCache(capacity));
                    active.add(i);
                    next.add(java.util.Arrays.copyOfRange(prompt, shared[g], prompt.length));
                }
            }
            long prefillNanos = 0;
            int steps = 0;
            int decodeTokens = 0;
            boolean prefill = true;
            while (!active.isEmpty() && config.maxNewTokens() > 0) {
                List<LanguageModel.Cache> activeCaches = active.stream().map(caches::get).toList();
                float[] all = session.forward(next, activeCaches);
                int vocab = model.config().vocabSize();
                List<Integer> stillActive = new ArrayList<>();
                List<int[]> nextTokens = new ArrayList<>();
                Sampler.Choice[] choices = choose(sampler, all, vocab, active, random);
                for (int r = 0; r < active.size(); r++) {
                    int seq = active.get(r);
                    Sampler.Choice choice = choices[r];
                    outTokens.get(seq).add(choice.token());
                    outLogprobs.get(seq).add(choice.logprob());
                    if (listener != null) {
                        listener.onToken(seq, choice.token(), choice.logprob());
                    }
                    if (config.stopTokens().contains(choice.token())) {
                        finish[seq] = "stop";
                    } else if (outTokens.get(seq).size() >= config.maxNewTokens()) {
                        finish[seq] = "length";
                    } else {
                        stillActive.add(seq);
                        nextTokens.add(new int[] {choice.token()});
                    }
                }
                if (prefill) {
                    prefillNanos = System.nanoTime() - t0;
                    prefill = false;
                } else {
                    steps++;
                    decodeTokens += active.size();
                }
                active = stillActive;
                next = nextTokens;
            }
            long decodeNanos = System.nanoTime() - t0 - prefillNanos;
            lastTiming = new Timing(prefillNanos, prefillTokens, decodeNanos, steps, decodeTokens, 1);
        } finally {
            caches.forEach(LanguageModel.Cache::close);
            prefixes.stream().filter(java.util.Objects::nonNull).forEach(LanguageModel.Cache::close);
        }
        return results(outTokens, outLogprobs, finish);
    }

    /**
     * The next token of every running sequence from its row of {@code logits}. Rows are
     * independent (each sequence has its own random stream), so a batch is sampled in parallel:
     * a softmax over a 152k vocabulary costs a tenth of a millisecond per row even vectorised.
     */
    private static Sampler.Choice[] choose(Sampler sampler, float[] logits, int vocab, List<Integer> active,
                                           SplittableRandom[] random) {
        Sampler.Choice[] choices = new Sampler.Choice[active.size()];
        IntStream rows = IntStream.range(0, choices.length);
        (choices.length > 1 ? rows.parallel() : rows).forEach(r -> {
            choices[r] = sampler.choose(logits, r * vocab, vocab, random[active.get(r)]);
        });
        return choices;
    }

    /**
     * The longest prefix all prompts share, leaving every prompt at least one token of its own:
     * the batched prefill needs a token per sequence to produce its first logits.
     */
    static int sharedPrefix(List<int[]> prompts) {
        int n = Integer.MAX_VALUE;
        for (int[] p : prompts) {
            n = Math.min(n, p.length - 1);
        }
        int[] first = prompts.get(0);
        for (int i = 0; i < n; i++) {
            for (int[] p : prompts) {
                if (p[i] != first[i]) {
                    return i;
                }
            }
        }
        return Math.max(0, n);
    }

    private static List<Result> results(List<List<Integer>> outTokens, List<List<Double>> outLogprobs, String[] finish) {
        int batch = finish.length;
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            int[] tokens = outTokens.get(i).stream().mapToInt(Integer::intValue).toArray();
            double[] lp = outLogprobs.get(i).stream().mapToDouble(Double::doubleValue).toArray();
            results.add(new Result(tokens, lp, finish[i] == null ? "length" : finish[i]));
        }
        return results;
    }
}
