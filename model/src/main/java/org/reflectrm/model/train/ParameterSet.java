package org.reflectrm.model.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Tensor;
import org.reflectrm.tensor.optim.OptimParam;

/**
 * The trainable tensors of a run, by HF name: F32 values with F32 gradients, both owned here,
 * on one device (host memory for the CPU). Gradients accumulate over backward calls until
 * {@link #zeroGrad}.
 */
public final class ParameterSet implements AutoCloseable {
    private final Device device;
    private final DeviceTensors memory;
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    /** Parameters in host memory, computed on by {@code backend}. */
    public ParameterSet(Backend backend) {
        this(new HostDevice(backend));
    }

    /** Parameters in {@code device}'s memory. */
    public ParameterSet(Device device) {
        this.device = device;
        this.memory = new DeviceTensors(device);
    }

    /** The device the parameters live on. */
    public Device device() {
        return device;
    }

    /** A new parameter initialised from {@code initial} (any computable dtype, widened to F32). */
    public Tensor add(String name, Tensor initial) {
        return register(name, memory.widened(initial));
    }

    /**
     * New parameters initialised from the matrices {@code initials}, which share a row length,
     * stored one after another in one allocation, so that {@link Tensor#stacked} sees them as one
     * matrix (the fused forward reads q, k and v, or gate and up, in one pass). Each is its own
     * parameter with its own gradient.
     */
    public List<Tensor> addStacked(List<String> names, Tensor... initials) {
        if (names.size() != initials.length) {
            throw new IllegalArgumentException(names.size() + " names for " + initials.length + " tensors");
        }
        int rows = 0, cols = initials[0].dim(-1);
        for (Tensor t : initials) {
            if (t.rank() != 2 || t.dim(1) != cols) {
                throw new IllegalArgumentException("cannot stack " + t + " with " + initials[0]);
            }
            rows += t.dim(0);
        }
        Tensor all = memory.zeros(rows, cols);
        List<Tensor> out = new ArrayList<>(initials.length);
        for (int i = 0, row = 0; i < initials.length; row += initials[i].dim(0), i++) {
            Tensor value = all.rows(row, row + initials[i].dim(0));
            memory.widenInto(initials[i], value);
            out.add(register(names.get(i), value));
        }
        return out;
    }

    /** A new zero parameter of the given shape. */
    public Tensor zeros(String name, int... shape) {
        return register(name, memory.zeros(shape));
    }

    private Tensor register(String name, Tensor value) {
        if (params.containsKey(name)) {
            throw new IllegalArgumentException("parameter '" + name + "' registered twice");
        }
        Tensor p = Tensor.parameter(value, memory.zeros(value.shape()));
        params.put(name, p);
        return p;
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
     * The parameters as an optimizer sees them, in registration order, in this set's device
     * memory. Norm weights get no weight decay, as transformers' Trainer exempts them.
     */
    public List<OptimParam> optimParams() {
        List<OptimParam> list = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            Tensor p = e.getValue(), g = p.grad();
            OptimParam op = new OptimParam(e.getKey(), p.buffer(), p.offset(), g.buffer(), g.offset(), p.numel(), true);
            list.add(e.getKey().contains("norm") ? op.withoutWeightDecay() : op);
        }
        return list;
    }

    public void zeroGrad() {
        for (Tensor p : params.values()) {
            Tensor g = p.grad();
            device.zero(g.buffer(), g.offset(), g.numel());
        }
    }

    /**
     * The L2 norm of each parameter's gradient, its squares summed on the device in one batch
     * ({@link Device#sumsOfSquares}).
     */
    public Map<String, Double> gradNorms() {
        List<DeviceBuffer> grads = new ArrayList<>(params.size());
        long[] offs = new long[params.size()], sizes = new long[params.size()];
        int i = 0;
        for (Tensor p : params.values()) {
            Tensor g = p.grad();
            grads.add(g.buffer());
            offs[i] = g.offset();
            sizes[i++] = g.numel();
        }
        double[] sums = device.sumsOfSquares(grads, offs, sizes);
        Map<String, Double> out = new LinkedHashMap<>();
        i = 0;
        for (String name : params.keySet()) {
            out.put(name, Math.sqrt(sums[i++]));
        }
        return out;
    }

    @Override
    public void close() {
        memory.close();
    }
}
