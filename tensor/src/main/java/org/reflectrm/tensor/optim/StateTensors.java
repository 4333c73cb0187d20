package org.reflectrm.tensor.optim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.HostDevice;

/**
 * The optimizer's own F32 state: for every parameter one zeroed tensor per kind
 * ({@code exp_avg}, ...) in the memory of the parameters' device, named {@code <param>.<kind>}
 * as torch's state_dict keys would suggest. Checkpoints download it once per save and upload it
 * once per load; the steps never move it.
 */
final class StateTensors implements AutoCloseable {
    private final List<OptimParam> params;
    private final String[] kinds;
    private final DeviceBuffer[] tensors;   // [param * kinds.length + kind]
    private final List<String> names = new ArrayList<>();

    StateTensors(Device device, List<OptimParam> params, String... kinds) {
        this.params = List.copyOf(params);
        this.kinds = kinds.clone();
        this.tensors = new DeviceBuffer[params.size() * kinds.length];
        Set<String> seen = new HashSet<>();
        for (OptimParam param : params) {
            if (!seen.add(param.name())) {
                throw new IllegalArgumentException("parameter " + param.name() + " is given twice");
            }
        }
        for (int p = 0; p < params.size(); p++) {
            for (int k = 0; k < kinds.length; k++) {
                // Device memory comes zeroed: torch starts its moments at zero too.
                tensors[p * kinds.length + k] = device.allocate(params.get(p).size() * Float.BYTES);
                names.add(params.get(p).name() + "." + kinds[k]);
            }
        }
    }

    List<OptimParam> params() {
        return params;
    }

    DeviceBuffer get(int param, int kind) {
        return tensors[param * kinds.length + kind];
    }

    List<String> names() {
        return List.copyOf(names);
    }

    /**
     * Host memory: a live read-only view. Elsewhere: one download into memory the garbage
     * collector frees once the caller drops it (a checkpoint writes it to a file first).
     */
    void save(BiConsumer<String, MemorySegment> sink) {
        for (int i = 0; i < tensors.length; i++) {
            DeviceBuffer t = tensors[i];
            MemorySegment host;
            if (HostDevice.isHost(t)) {
                host = HostDevice.segment(t);
            } else {
                host = Arena.ofAuto().allocate(t.bytes(), 64);
                t.read(0, host);
            }
            sink.accept(names.get(i), host.asReadOnly());
        }
    }

    void load(Function<String, MemorySegment> source) {
        MemorySegment[] from = new MemorySegment[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            from[i] = source.apply(names.get(i));
            if (from[i] == null) {
                throw new IllegalArgumentException("optimizer state " + names.get(i) + " is missing");
            }
            if (from[i].byteSize() != tensors[i].bytes()) {
                throw new IllegalArgumentException("optimizer state " + names.get(i) + " has " + from[i].byteSize()
                        + " bytes, expected " + tensors[i].bytes());
            }
        }
        for (int i = 0; i < tensors.length; i++) {
            tensors[i].write(from[i], 0);
        }
    }

    @Override
    public void close() {
        for (DeviceBuffer t : tensors) {
            t.close();
        }
    }
}
