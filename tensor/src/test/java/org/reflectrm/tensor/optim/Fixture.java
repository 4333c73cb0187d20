package org.reflectrm.tensor.optim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A run recorded by tensor/src/test/python/make_optim_fixture.py: initial parameters, the
 * gradient of every step, and what torch produced (lr, gradient norm, parameters after each step).
 */
record Fixture(JsonNode root) {

    static Fixture load(String name) {
        try (InputStream in = Fixture.class.getResourceAsStream("/optim/" + name + ".json")) {
            if (in == null) {
                throw new IllegalStateException("fixture optim/" + name + ".json is missing");
            }
            return new Fixture(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();   // the JSON holds the exact double of each float32
        }
        return out;
    }

    List<String> names() {
        List<String> names = new ArrayList<>();
        root.get("param_names").forEach(n -> names.add(n.asText()));
        return names;
    }

    int steps() {
        return root.get("steps").size();
    }

    float[] init(String param) {
        return floats(root.get("init").get(param));
    }

    float[] grad(int step, String param) {
        return floats(root.get("grads").get(step).get(param));
    }

    double lr(int step) {
        return root.get("steps").get(step).get("lr").asDouble();
    }

    double gradNorm(int step) {
        return root.get("steps").get(step).get("grad_norm").asDouble();
    }

    float[] paramAfter(int step, String param) {
        return floats(root.get("steps").get(step).get("params").get(param));
    }

    /** The fixture's parameters in fresh memory of {@code arena}, initial values, zero gradients. */
    List<OptimParam> params(Arena arena) {
        List<String> noDecay = new ArrayList<>();
        root.get("no_decay").forEach(n -> noDecay.add(n.asText()));
        List<OptimParam> params = new ArrayList<>();
        for (String name : names()) {
            float[] init = init(name);
            MemorySegment value = arena.allocateFrom(ValueLayout.JAVA_FLOAT, init);
            MemorySegment grad = arena.allocate(ValueLayout.JAVA_FLOAT, init.length);
            OptimParam p = OptimParam.of(name, value, grad);
            params.add(noDecay.contains(name) ? p.withoutWeightDecay() : p);
        }
        return params;
    }

    /** Copies step {@code step}'s recorded gradients into the parameters' gradient memory. */
    void setGrads(List<OptimParam> params, int step) {
        for (OptimParam p : params) {
            MemorySegment.copy(grad(step, p.name()), 0, p.gradSlice(), ValueLayout.JAVA_FLOAT, 0, (int) p.size());
        }
    }

    Optimizer optimizer(List<OptimParam> params) {
        return switch (root.get("optimizer").asText()) {
            case "adamw" -> new AdamW(params, new AdamW.Config(root.get("betas").get(0).asDouble(),
                    root.get("betas").get(1).asDouble(), root.get("eps").asDouble(),
                    root.get("weight_decay").asDouble()));
            case "sgd" -> new Sgd(params, new Sgd.Config(root.get("momentum").asDouble(),
                    root.get("weight_decay").asDouble()));
            default -> throw new IllegalStateException("unknown optimizer " + root.get("optimizer"));
        };
    }

    LrSchedule schedule() {
        JsonNode s = root.get("schedule");
        double lr = root.get("lr").asDouble();
        return switch (s.get("kind").asText()) {
            case "constant" -> LrSchedule.constant(lr);
            case "cosine_with_warmup" -> LrSchedule.cosineWithWarmup(lr, s.get("warmup").asLong(),
                    s.get("total").asLong());
            case "linear_with_warmup" -> LrSchedule.linearWithWarmup(lr, s.get("warmup").asLong(),
                    s.get("total").asLong());
            default -> throw new IllegalStateException("unknown schedule " + s);
        };
    }

    /** The max_grad_norm of the run, or 0 when it does not clip. */
    double maxGradNorm() {
        JsonNode m = root.get("max_grad_norm");
        return m == null || m.isNull() ? 0 : m.asDouble();
    }
}
