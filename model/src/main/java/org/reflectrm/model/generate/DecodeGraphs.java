package org.reflectrm.model.generate;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Supplier;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.kernels.device.DeviceGraph;
import org.reflectrm.kernels.device.RecordingDevice;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.tensor.Allocator;
import org.reflectrm.tensor.Tensor;

/**
 * A session's recorded decode step and the device buffer of ids and positions it reads. A
 * replay repeats every launch with the same arguments, so the step's scratch stays handed out
 * (the allocator is not reset) while the recording lives, each new step's ids and positions are
 * written into the same buffer, and the recording serves only the caches it was made for.
 * {@link #close} ends it and gives the scratch back.
 */
final class DecodeGraphs implements AutoCloseable {
    /** A recorded decode step, the logits it writes, and what it was recorded for. */
    record Recorded(DeviceGraph graph, Tensor logits, List<KvCache> caches, long intsGeneration) {
        void launch() {
            graph.launch();
        }
    }

    /** The device failed to record (as opposed to needing memory first): stop trying. */
    static final class CannotRecord extends RuntimeException {
        CannotRecord(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }

    private final Device device;
    private final Allocator scratch;
    private DeviceBuffer ints;
    /** Bumped whenever {@link #ints} is replaced: a recording reads the buffer it was made with. */
    private long intsGeneration;
    private Recorded current;

    DecodeGraphs(Device device, Allocator scratch) {
        this.device = device;
        this.scratch = scratch;
    }

    /** {@code values} in the session's int32 buffer on the device (one upload), grown when too small. */
    Tensor ints(int[] values) {
        long bytes = 4L * values.length;
        if (ints == null || ints.bytes() < bytes) {
            close();                                  // the recording reads the old buffer
            closeInts();
            ints = device.allocate(Math.max(bytes, 64));
            intsGeneration++;
        }
        device.upload(MemorySegment.ofArray(values), ints, 0);
        return new Tensor(ints, 0, DType.I32, values.length);
    }

    /** The recording if it still serves these caches, else null (a stale one is closed). */
    Recorded replayable(List<KvCache> caches) {
        if (current != null && (!current.graph().isValid() || current.intsGeneration() != intsGeneration
                || !current.caches().equals(caches))) {
            close();
        }
        return current;
    }

    /**
     * Records {@code step}, which must only queue kernels, as the decode step of {@code caches}.
     * Returns null if the step needs memory first (the device refuses to allocate while
     * recording): run it directly, and record the next one. Throws {@link CannotRecord} if the
     * device cannot record at all.
     */
    Recorded record(List<KvCache> caches, Supplier<Tensor> step) {
        RecordingDevice recorder = (RecordingDevice) device;
        try {
            recorder.beginRecording();
        } catch (RuntimeException e) {
            throw new CannotRecord(e);
        }
        Tensor logits;
        try {
            logits = step.get();
        } catch (RuntimeException e) {
            try {
                recorder.endRecording().close();
            } catch (RuntimeException ignored) {
                // the recording is broken either way; the first failure says why
            }
            scratch.reset();
            if (e instanceof IllegalStateException) {
                return null;
            }
            throw new CannotRecord(e);
        }
        try {
            current = new Recorded(recorder.endRecording(), logits, List.copyOf(caches), intsGeneration);
        } catch (RuntimeException e) {
            scratch.reset();
            throw new CannotRecord(e);
        }
        return current;
    }

    /** Ends the recording, if any, and gives its scratch back. */
    @Override
    public void close() {
        if (current != null) {
            current.graph().close();
            current = null;
            scratch.reset();
        }
    }

    /** Frees the ids buffer (after queued work, which may still read it). */
    void closeInts() {
        if (ints != null) {
            device.synchronize();
            ints.close();
            ints = null;
        }
    }
}
