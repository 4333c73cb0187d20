package org.reflectrm.model.generate;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.reflectrm.kernels.cpu.VocabMath;

/** Picks the next token from one row of logits and reports its log-probability. */
public final class Sampler {
    private final SamplingParams params;

    public Sampler(SamplingParams params) {
        this.params = params;
    }

    /** A chosen token and its log-probability under the model's unmodified distribution. */
    public record Choice(int token, double logprob) {
    }

    public Choice choose(float[] logits, SplittableRandom random) {
        return choose(logits, 0, logits.length, random);
    }

    /** As {@link #choose(float[], SplittableRandom)} for the row {@code logits[from, from + vocab)}. */
    public Choice choose(float[] logits, int from, int vocab, SplittableRandom random) {
        if (params.greedy()) {
            int token = VocabMath.argmax(logits, from, vocab);
            float best = logits[from + token];  // the row's max, unless it holds NaN (then NaN either way)
            return new Choice(token, best - VocabMath.logSumExp(logits, from, vocab, best));
        }
        if (params.topK() == 0 && params.topP() >= 1.0 && params.minP() <= 0) {
            return drawWithTemperature(logits, from, vocab, random);
        }
        float[] row = java.util.Arrays.copyOfRange(logits, from, from + vocab);
        int token = draw(row, random);
        return new Choice(token, logSoftmaxAt(row, token));
    }

    /** First index of the maximum, like torch.argmax; NaN loses to every number. */
    public static int argmax(float[] logits) {
        return VocabMath.argmax(logits, 0, logits.length);
    }

    /** {@code log softmax(logits)[token]}. */
    public static double logSoftmaxAt(float[] logits, int token) {
        return logits[token] - VocabMath.logSumExp(logits, 0, logits.length);
    }

    /**
     * Plain temperature sampling, the judge's setting, without building a {@link Distribution}:
     * one vectorised pass sums the weights per chunk, the draw picks a chunk by those sums and
     * then a token inside it, so only one chunk's weights are recomputed one by one.
     */
    private Choice drawWithTemperature(float[] logits, int from, int vocab, SplittableRandom random) {
        float max = VocabMath.max(logits, from, vocab);
        if (Float.isNaN(max)) {
            throw new IllegalStateException("the logits hold NaN: cannot sample");
        }
        float inv = (float) (1.0 / params.temperature());
        double[] sums = new double[VocabMath.chunks(vocab)];
        double total = VocabMath.expSums(logits, from, vocab, max, inv, sums);
        double target = random.nextDouble() * total;
        int chunk = 0;
        while (chunk < sums.length - 1 && target >= sums[chunk]) {
            target -= sums[chunk++];
        }
        while (chunk > 0 && sums[chunk] == 0) {
            chunk--;  // rounding carried the target past the last chunk of any weight
        }
        int start = chunk * VocabMath.CHUNK, end = Math.min(vocab, start + VocabMath.CHUNK);
        int token = -1;
        for (int i = start; i < end; i++) {
            double w = Math.exp(((double) logits[from + i] - max) * inv);
            if (w > 0) {
                token = i;  // float and double weights differ in the last bits: fall back to the last candidate
                if (target < w) {
                    break;
                }
                target -= w;
            }
        }
        if (token < 0) {
            throw new IllegalStateException("no token of positive weight in chunk " + chunk);
        }
        double logprob = logits[from + token]
                - (inv == 1f ? max + Math.log(total) : VocabMath.logSumExp(logits, from, vocab, max));
        return new Choice(token, logprob);
    }

    /** The tokens a sampling step can pick and their probabilities (which sum to 1). */
    public record Distribution(int[] tokens, double[] probs) {
    }

    /**
     * The distribution a sampling step draws from: temperature, then top-k, top-p and min-p, as
     * transformers' warpers apply them.
     */
    public Distribution distribution(float[] logits) {
        double t = params.temperature();
        int[] order = candidates(logits);
        int keep = order.length;
        double[] probs = softmaxOfFirst(logits, order, keep, t);
        if (params.topP() < 1.0) {
            // Keep the smallest head whose mass reaches top_p (at least one token): transformers
            // drops a token when the mass of it and everything less likely is <= 1 - top_p.
            double tail = 0;
            int cut = keep;
            for (int i = keep - 1; i > 0 && tail + probs[i] <= 1.0 - params.topP(); i--) {
                tail += probs[i];
                cut = i;
            }
            if (cut < keep) {
                keep = cut;
                probs = softmaxOfFirst(logits, order, keep, t);
            }
        }
        if (params.minP() > 0) {
            double top = 0;
            for (int i = 0; i < keep; i++) {
                top = Math.max(top, probs[i]);
            }
            double threshold = params.minP() * top;
            int kept = 0;
            for (int i = 0; i < keep; i++) {
                if (probs[i] >= threshold) {
                    order[kept++] = order[i];
                }
            }
            if (kept < keep) {
                keep = kept;
                probs = softmaxOfFirst(logits, order, keep, t);
            }
        }
        return new Distribution(Arrays.copyOf(order, keep), probs);
    }

    private int draw(float[] logits, SplittableRandom random) {
        Distribution d = distribution(logits);
        double u = random.nextDouble();
        double cumulative = 0;
        for (int i = 0; i < d.tokens().length; i++) {
            cumulative += d.probs()[i];
            if (u < cumulative) {
                return d.tokens()[i];
            }
        }
        return d.tokens()[d.tokens().length - 1];
    }

    /**
     * The tokens that survive top-k, best first, including every token
     * that ties the k-th score, as transformers keeps them. Without top-k all tokens survive; they
     * are sorted only when top-p needs the order.
     */
    private int[] candidates(float[] logits) {
        int n = logits.length;
        int k = params.topK();
        if (k > 0 && k < n) {
            float kth = kthLargest(logits, k);
            int count = 0;
            for (float v : logits) {
                if (v >= kth) {
                    count++;
                }
            }
            int[] ids = new int[count];
            for (int i = 0, j = 0; i < n; i++) {
                if (logits[i] >= kth) {
                    ids[j++] = i;
                }
            }
            return sortDescending(logits, ids);
        }
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        return params.topP() < 1.0 ? sortDescending(logits, all) : all;
    }

    /** The k-th largest value, by insertion into a small sorted window (k is small in practice). */
    private static float kthLargest(float[] logits, int k) {
        float[] top = new float[k];
        Arrays.fill(top, Float.NEGATIVE_INFINITY);
        for (float v : logits) {
            if (v > top[k - 1]) {
                int i = k - 1;
                while (i > 0 && top[i - 1] < v) {
                    top[i] = top[i - 1];
                    i--;
                }
                top[i] = v;
            }
        }
        return top[k - 1];
    }

    /**
     * Sorts ids by logit, highest first, lower id first on ties, via packed primitive keys. (Where
     * top-p cuts through tied scores, which of them survive is arbitrary in transformers too: its
     * sort is not stable.)
     */
    private static int[] sortDescending(float[] logits, int[] ids) {
        long[] keys = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            int bits = Float.floatToIntBits(logits[ids[i]]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
            keys[i] = ((long) ~ascending << 32) | ids[i];
        }
        Arrays.sort(keys);
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }

    /** Softmax of {@code logits / t} over the first {@code keep} candidates. */
    private static double[] softmaxOfFirst(float[] logits, int[] order, int keep, double t) {
        double[] p = new double[keep];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < keep; i++) {
            max = Math.max(max, logits[order[i]] / t);
        }
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / t - max);
            sum += p[i];
        }
        for (int i = 0; i < keep; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
