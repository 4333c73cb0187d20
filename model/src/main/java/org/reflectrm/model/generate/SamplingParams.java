package org.reflectrm.model.generate;

/**
 * How the next token is chosen. Greedy takes the arg-max; otherwise the logits are divided by
 * the temperature, then filtered by top-k, top-p and min-p in that order (transformers' order),
 * and a token is drawn from what is left. {@code topK = 0}, {@code topP = 1} and
 * {@code minP = 0} switch a filter off.
 */
public record SamplingParams(boolean greedy, double temperature, int topK, double topP, double minP) {

    public static final SamplingParams GREEDY = new SamplingParams(true, 1.0, 0, 1.0, 0.0);

    public SamplingParams {
        if (!greedy) {
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be > 0, got " + temperature
                        + " (use greedy decoding for temperature 0)");
            }
            if (topK < 0) {
                throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
            }
            if (!(minP >= 0 && minP <= 1)) {
                throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
            }
        }
    }

    public static SamplingParams sample(double temperature, int topK, double topP, double minP) {
        return new SamplingParams(false, temperature, topK, topP, minP);
    }
}
