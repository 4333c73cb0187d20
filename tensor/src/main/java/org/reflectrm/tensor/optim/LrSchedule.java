package org.reflectrm.tensor.optim;

/**
 * A learning rate per optimizer step: {@code lr(step) = baseLr * multiplier(step)}, where
 * {@code step} counts the optimizer steps already taken (0 for the first), exactly the index
 * transformers' LambdaLR schedules pass to their lambdas. So the first step of a warmup schedule
 * runs at lr 0, as it does in transformers' Trainer.
 *
 * <p>The multipliers are transformers' {@code get_constant_schedule_with_warmup},
 * {@code get_cosine_schedule_with_warmup} and {@code get_linear_schedule_with_warmup}, in the
 * same double arithmetic. Past {@code totalSteps} the linear schedule stays at 0 and the cosine
 * one follows its cosine back up, as theirs do.
 */
public sealed interface LrSchedule {

    double baseLr();

    /** The factor on {@link #baseLr()} for the step with this 0-based index. */
    double multiplier(long step);

    default double lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step " + step + " is negative");
        }
        return baseLr() * multiplier(step);
    }

    static LrSchedule constant(double baseLr) {
        return new Constant(baseLr, 0);
    }

    static LrSchedule constantWithWarmup(double baseLr, long warmupSteps) {
        return new Constant(baseLr, warmupSteps);
    }

    static LrSchedule cosineWithWarmup(double baseLr, long warmupSteps, long totalSteps) {
        return new Cosine(baseLr, warmupSteps, totalSteps, 0.5);
    }

    static LrSchedule linearWithWarmup(double baseLr, long warmupSteps, long totalSteps) {
        return new Linear(baseLr, warmupSteps, totalSteps);
    }

    /** Linear warmup from 0 over {@code warmupSteps}, then constant. */
    record Constant(double baseLr, long warmupSteps) implements LrSchedule {
        public Constant {
            check(baseLr, warmupSteps, warmupSteps);
        }

        @Override
        public double multiplier(long step) {
            return step < warmupSteps ? warmup(step, warmupSteps) : 1.0;
        }
    }

    /**
     * Linear warmup, then {@code 0.5 * (1 + cos(pi * numCycles * 2 * progress))}, clamped at 0;
     * {@code numCycles} 0.5 is one half-cosine from 1 down to 0 at {@code totalSteps}.
     */
    record Cosine(double baseLr, long warmupSteps, long totalSteps, double numCycles) implements LrSchedule {
        public Cosine {
            check(baseLr, warmupSteps, totalSteps);
            if (!Double.isFinite(numCycles)) {
                throw new IllegalArgumentException("num cycles " + numCycles + " is not finite");
            }
        }

        @Override
        public double multiplier(long step) {
            if (step < warmupSteps) {
                return warmup(step, warmupSteps);
            }
            double progress = (double) (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps);
            // StrictMath: the same bits on every JVM; Python's libm cos agrees to an ulp.
            double factor = 0.5 * (1.0 + StrictMath.cos(Math.PI * numCycles * 2.0 * progress));
            return Math.max(0, factor);
        }
    }

    /** Linear warmup, then linear decay to 0 at {@code totalSteps}, and 0 after. */
    record Linear(double baseLr, long warmupSteps, long totalSteps) implements LrSchedule {
        public Linear {
            check(baseLr, warmupSteps, totalSteps);
        }

        @Override
        public double multiplier(long step) {
            if (step < warmupSteps) {
                return warmup(step, warmupSteps);
            }
            return Math.max(0.0, (double) (totalSteps - step) / (double) Math.max(1, totalSteps - warmupSteps));
        }
    }

    private static double warmup(long step, long warmupSteps) {
        return (double) step / (double) Math.max(1, warmupSteps);
    }

    private static void check(double baseLr, long warmupSteps, long totalSteps) {
        if (!(baseLr >= 0) || Double.isInfinite(baseLr)) {
            throw new IllegalArgumentException("base learning rate " + baseLr + " is not finite and non-negative");
        }
        if (warmupSteps < 0 || totalSteps < 0) {
            throw new IllegalArgumentException("warmup " + warmupSteps + " and total " + totalSteps
                    + " steps must be non-negative");
        }
    }
}
