package org.reflectrm.tensor.optim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The optimizer's own F32 state: for every parameter one zeroed off-heap tensor per kind
 * ({@code exp_avg}, ...), named {@code <param>.<kind>} as torch's state_dict keys would suggest.
 * A shared arena, because trainers may step on a thread other than the one that built them.
 */
final class StateTensors implements AutoCloseable {
    /** Cache-line alignment, so vector loads never straddle a line needlessly. */
    private static final long ALIGN = 64;

    private final Arena arena = Arena.ofShared();
    private final List<OptimParam> params;
    private final String[] kinds;
    private final MemorySegment[] tensors;   // [param * kinds.length + kind]
    private final List<String> names = new ArrayList<>();

    StateTensors(List<OptimParam> params, String... kinds) {
        this.params = List.copyOf(params);
        this.kinds = kinds.clone();
        this.tensors = new MemorySegment[params.size() * kinds.length];
        Set<String> seen = new HashSet<>();
        for (int p = 0; p < params.size(); p++) {
            OptimParam param = params.get(p);
            if (!seen.add(param.name())) {
                throw new IllegalArgumentException("parameter " + param.name() + " is given twice");
            }
            for (int k = 0; k < kinds.length; k++) {
                // Arena.allocate zeroes the memory: torch starts its moments at zero too.
                tensors[p * kinds.length + k] = arena.allocate(param.size() * Float.BYTES, ALIGN);
                names.add(param.name() + "." + kinds[k]);
            }
        }
    }

    List<OptimParam> params() {
        return params;
    }

    MemorySegment get(int param, int kind) {
        return tensors[param * kinds.length + kind];
    }

    List<String> names() {
        return List.copyOf(names);
    }

    void save(BiConsumer<String, MemorySegment> sink) {
        for (int i = 0; i < tensors.length; i++) {
            sink.accept(names.get(i), tensors[i].asReadOnly());
        }
    }

    void load(Function<String, MemorySegment> source) {
        MemorySegment[] from = new MemorySegment[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            from[i] = source.apply(names.get(i));
            if (from[i] == null) {
                throw new IllegalArgumentException("optimizer state " + names.get(i) + " is missing");
            }
            if (from[i].byteSize() != tensors[i].byteSize()) {
                throw new IllegalArgumentException("optimizer state " + names.get(i) + " has " + from[i].byteSize()
                        + " bytes, expected " + tensors[i].byteSize());
            }
        }
        for (int i = 0; i < tensors.length; i++) {
            MemorySegment.copy(from[i], 0, tensors[i], 0, tensors[i].byteSize());
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
