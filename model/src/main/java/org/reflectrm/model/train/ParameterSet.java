package org.reflectrm.model.train;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.tensor.Tensor;
import org.reflectrm.tensor.optim.OptimParam;

/**
 * The trainable tensors of a run, by HF name: F32 values with F32 gradients, both owned here.
 * Gradients accumulate over backward calls until {@link #zeroGrad}.
 */
public final class ParameterSet implements AutoCloseable {
    private final Backend backend;
    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    public ParameterSet(Backend backend) {
        this.backend = backend;
    }

    /** A new parameter initialised from {@code initial} (any computable dtype, widened to F32). */
    public Tensor add(String name, Tensor initial) {
        Tensor value = allocate(initial.shape());
        // Widening every row of a matrix is an embedding lookup of all its rows: the backend's
        // vectorised, parallel converter does the copy.
        int dim = initial.rank() == 0 ? 1 : initial.dim(-1);
        int[] rows = java.util.stream.IntStream.range(0, (int) (initial.numel() / dim)).toArray();
        backend.embedding(initial.segment(), initial.offset(), initial.dtype(), dim, rows, value.segment(), value.offset());
        return register(name, value);
    }

    /** A new zero parameter of the given shape. */
    public Tensor zeros(String name, int... shape) {
        return register(name, allocate(shape));
    }

    private Tensor register(String name, Tensor value) {
        if (params.containsKey(name)) {
            throw new IllegalArgumentException("parameter '" + name + "' registered twice");
        }
        Tensor p = Tensor.parameter(value, allocate(value.shape()));
        params.put(name, p);
        return p;
    }

    private Tensor allocate(int... shape) {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        MemorySegment seg = backend.allocate(arena, Math.max(1, n) * 4);
        return new Tensor(seg, 0, DType.F32, shape);
    }

    public Map<String, Tensor> all() {
        return Collections.unmodifiableMap(params);
    }

    public Tensor get(String name) {
        Tensor p = params.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'");
        }
        return p;
    }

    public long count() {
        long n = 0;
        for (Tensor p : params.values()) {
            n += p.numel();
        }
        return n;
    }

    /**
     * The parameters as an optimizer sees them, in registration order. Norm weights get no
     * weight decay, as transformers' Trainer exempts them.
     */
    public List<OptimParam> optimParams() {
        List<OptimParam> list = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            Tensor p = e.getValue(), g = p.grad();
            OptimParam op = new OptimParam(e.getKey(), p.segment(), p.offset(), g.segment(), g.offset(), p.numel(), true);
            list.add(e.getKey().contains("norm") ? op.withoutWeightDecay() : op);
        }
        return list;
    }

    public void zeroGrad() {
        for (Tensor p : params.values()) {
            Tensor g = p.grad();
            backend.zero(g.segment(), g.offset(), g.numel());
        }
    }

    /** The L2 norm of each parameter's gradient, summed in double. */
    public Map<String, Double> gradNorms() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            out.put(e.getKey(), Math.sqrt(sumOfSquares(e.getValue().grad())));
        }
        return out;
    }

    static double sumOfSquares(Tensor t) {
        double s = 0;
        for (long i = 0, n = t.numel(); i < n; i++) {
            double v = t.getFloat(i);
            s += v * v;
        }
        return s;
    }

    @Override
    public void close() {
        arena.close();
    }
}
