package org.reflectrm.reflect.grpo;

import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tape;
import org.reflectrm.tensor.Tensor;

/**
 * The GRPO loss as TRL's {@code GRPOTrainer._compute_loss} (trl 1.13) defines it, with
 * token-level importance ratios, so that settings and results carry over between the two:
 * <pre>
 *   r_t   = exp(logp_t − old_t)                     (old = logp detached when not given: r = 1)
 *   ℓ_t   = −min(r_t·A, clip(r_t, 1−ε_low, 1+ε_high)·A) + β·KL_t
 *   KL_t  = exp(ref_t − logp_t) − (ref_t − logp_t) − 1   (k3), times r_t with the bias correction
 * </pre>
 * summed over completion tokens with the loss type's normaliser: {@code grpo} the mean over
 * sequences of each one's token mean; {@code bnpo} and {@code dapo} the mean over all tokens of
 * the step; {@code dr_grpo} the sum over B·max_completion_length. A whole step is one batch (one
 * process, no gradient accumulation in TRL's terms); micro-batches only bound memory, the
 * normalisers stay those of the step.
 *
 * <p>The gradient flows through the token log-probabilities alone, so each token's loss and its
 * derivative by {@code logp_t} are computed here in closed form and the model's fused output
 * layer ({@link Ops#tokenObjective}) turns them into parameter gradients in one backward pass.
 */
public final class GrpoLoss {
    /** How token losses are averaged (TRL's {@code loss_type}). */
    public enum Type {
        GRPO, BNPO, DR_GRPO, DAPO;

        public static Type parse(String name) {
            for (Type t : values()) {
                if (t.name().equalsIgnoreCase(name)) {
                    return t;
                }
            }
            throw new BadInputException("--loss-type must be dapo, grpo, dr_grpo or bnpo, got " + name);
        }

        public String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The loss's settings; {@code temperature} divides the logits as in sampling, and {@code
     * klBiasCorrection} weights the KL term by the ratio (TRL's {@code use_bias_correction_kl}).
     */
    public record Settings(Type type, double epsilonLow, double epsilonHigh, double beta, boolean klBiasCorrection,
                           double temperature, int maxCompletionLength) {
        public Settings {
            if (!(epsilonLow >= 0 && epsilonLow < 1) || !(epsilonHigh >= 0)) {
                throw new BadInputException("--epsilon must be in [0, 1) and --epsilon-high not negative");
            }
            if (!(beta >= 0) || Double.isInfinite(beta)) {
                throw new BadInputException("--beta must not be negative, got " + beta);
            }
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new BadInputException("--temperature must be positive, got " + temperature);
            }
            if (maxCompletionLength < 1) {
                throw new BadInputException("--max-new-tokens must be at least 1");
            }
        }
    }

    /**
     * One sampled completion and what its loss needs. {@code oldLogprobs} null means the
     * sampling policy is the current one (one iteration per generation); {@code refLogprobs} is
     * needed when β > 0.
     */
    public record Sample(int[] prompt, int[] completion, double advantage, double[] oldLogprobs, double[] refLogprobs) {
        public Sample {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("a GRPO sample needs a prompt");
            }
        }
    }

    /** A micro-batch's share of the loss, with the counts behind the step's metrics. */
    public record Stats(double loss, long tokens, long clippedLow, long clippedHigh, double klSum, double[][] logprobs) {
    }

    private final Settings settings;

    public GrpoLoss(Settings settings) {
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /** Each sample's token weight in a step of {@code step} samples: its loss type's normaliser. */
    public double[] tokenWeights(List<Sample> step) {
        int b = step.size();
        long total = 0;
        for (Sample s : step) {
            total += s.completion().length;
        }
        double[] w = new double[b];
        for (int i = 0; i < b; i++) {
            int len = step.get(i).completion().length;
            w[i] = switch (settings.type()) {
                case GRPO -> 1.0 / ((double) b * Math.max(1, len));
                case BNPO, DAPO -> 1.0 / Math.max(1, total);
                case DR_GRPO -> 1.0 / ((double) b * settings.maxCompletionLength());
            };
        }
        return w;
    }

    /**
     * The loss of {@code samples} (weighted by {@code weights}, from {@link #tokenWeights} of
     * the whole step) forward and backward on {@code model}, adding into its parameters'
     * gradients. Returns the loss and the token statistics.
     */
    public Stats lossAndGradients(Qwen3Model model, Allocator scratch, List<Sample> samples,
                                  double[] weights) {
        Tape tape = new Tape(scratch);
        try {
            Ops ops = new Ops(scratch, tape);
            Accumulator acc = new Accumulator(samples, weights);
            Tensor loss = model.tokenObjective(ops, acc.sequences, acc.masks, logitScale(), acc::term);
            if (loss.requiresGrad()) {
                tape.backward(loss, 1f);
            }
            return acc.stats(loss.getFloat(0));
        } finally {
            tape.clear();
            scratch.reset();
        }
    }

    /** The completion tokens' log-probabilities under {@code model} at the loss's temperature, recording nothing. */
    public double[][] logprobs(Qwen3Model model, Allocator scratch, List<Sample> samples) {
        try {
            Accumulator acc = new Accumulator(samples, null);
            model.tokenObjective(new Ops(scratch), acc.sequences, acc.masks, logitScale(), acc::term);
            return acc.logprobs;
        } finally {
            scratch.reset();
        }
    }

    /** 1/temperature, rounded to float first as TRL divides float32 logits by the temperature. */
    private float logitScale() {
        return 1f / (float) settings.temperature();
    }

    /** The token term of one completion token, given its log-probability (see the class comment). */
    Ops.TokenTerm term(double logp, double old, double ref, double advantage, double weight, int[] clipCounts,
                       double[] klSum) {
        double ratio = Math.exp(logp - old);
        double lo = 1 - settings.epsilonLow(), hi = 1 + settings.epsilonHigh();
        double clipped = Math.min(Math.max(ratio, lo), hi);
        double loss, slope;
        if (ratio * advantage <= clipped * advantage) {
            loss = -ratio * advantage;                         // the unclipped ratio is the minimum
            slope = -advantage * ratio;
        } else {
            loss = -clipped * advantage;                       // clipped: a constant in logp
            slope = 0;
        }
        if (ratio < lo && advantage < 0) {
            clipCounts[0]++;
        } else if (ratio > hi && advantage > 0) {
            clipCounts[1]++;
        }
        if (settings.beta() != 0) {
            double d = ref - logp;
            double kl = Math.exp(d) - d - 1;
            double dkl = 1 - Math.exp(d);
            klSum[0] += kl;
            if (settings.klBiasCorrection()) {
                loss += settings.beta() * kl * ratio;
                slope += settings.beta() * (dkl * ratio + kl * ratio);
            } else {
                loss += settings.beta() * kl;
                slope += settings.beta() * dkl;
            }
        }
        return new Ops.TokenTerm(loss * weight, slope * weight);
    }

    /** The batch as the model sees it, and the per-token bookkeeping of one pass. */
    private final class Accumulator {
        final List<Sample> samples;
        final double[] weights;
        final List<int[]> sequences = new java.util.ArrayList<>();
        final List<boolean[]> masks = new java.util.ArrayList<>();
        final double[][] logprobs;
        final int[] rowSample;
        final int[] rowToken;
        final int[] clipCounts = new int[2];
        final double[] klSum = new double[1];
        long tokens;

        Accumulator(List<Sample> samples, double[] weights) {
            this.samples = samples;
            this.weights = weights;
            this.logprobs = new double[samples.size()][];
            int rows = 0;
            for (Sample s : samples) {
                rows += s.prompt().length + s.completion().length;
            }
            rowSample = new int[rows];
            rowToken = new int[rows];
            int row = 0;
            for (int i = 0; i < samples.size(); i++) {
                Sample s = samples.get(i);
                int p = s.prompt().length, c = s.completion().length;
                int[] seq = new int[p + c];
                System.arraycopy(s.prompt(), 0, seq, 0, p);
                System.arraycopy(s.completion(), 0, seq, p, c);
                boolean[] mask = new boolean[seq.length - 1];
                for (int j = 0; j < c; j++) {
                    mask[p - 1 + j] = true;                    // position p-1+j predicts completion token j
                    rowSample[row + p - 1 + j] = i;
                    rowToken[row + p - 1 + j] = j;
                }
                sequences.add(seq);
                masks.add(mask);
                logprobs[i] = new double[c];
                tokens += c;
                row += seq.length;
            }
        }

        Ops.TokenTerm term(int row, double logp) {
            int i = rowSample[row], j = rowToken[row];
            logprobs[i][j] = logp;
            if (weights == null) {
                return new Ops.TokenTerm(0, 0);
            }
            Sample s = samples.get(i);
            double old = s.oldLogprobs() == null ? logp : s.oldLogprobs()[j];
            double ref = settings.beta() == 0 ? logp : s.refLogprobs()[j];
            return GrpoLoss.this.term(logp, old, ref, s.advantage(), weights[i], clipCounts, klSum);
        }

        Stats stats(double loss) {
            return new Stats(loss, tokens, clipCounts[0], clipCounts[1], klSum[0], logprobs);
        }
    }
}
