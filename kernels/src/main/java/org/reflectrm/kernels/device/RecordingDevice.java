package org.reflectrm.kernels.device;

import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

/**
 * A {@link Device} that can record a sequence of launches and replay it ({@link DeviceGraph}):
 * CUDA graphs. Where the host's cost per launch rivals the kernels' own time (decode of small
 * batches), one replay per step replaces hundreds of launches.
 *
 * <p>A replay repeats every argument, so the two kernels whose arguments would change from one
 * decode step to the next read them from device memory instead: each token's KV-cache slot is
 * its position, and attention sees keys up to the positions of its tokens. Callers use these
 * variants everywhere on such a device, so recorded and direct steps compute the same.
 */
public interface RecordingDevice extends Device {

    /**
     * As {@link #splitQkv}, except that row t's k and v go to slot {@code positions[posOff + t]}
     * of caches whose slot 0 is at {@code kOff} / {@code vOff} and which hold {@code slots}
     * slots; a position outside {@code [0, slots)} writes no k or v.
     */
    void splitQkvAtPositions(DeviceBuffer qkv, long qkvOff, int rows, int heads, int kvHeads, int headDim,
                             DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff, DType normType,
                             float eps, DeviceBuffer positions, long posOff, float theta,
                             DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache, long vOff,
                             int slots);

    /**
     * As {@link #attention}, except that the first token's position is read from
     * {@code positions[posOff]} (token t is at that plus t; {@code shape.startPos()} must agree
     * when called directly), and the work is planned for caches of {@code slots} slots, so that
     * a recorded launch stays right while the caches fill.
     */
    void attentionAtPositions(DeviceBuffer q, long qOff, DeviceBuffer kCache, long kOff, DeviceBuffer vCache,
                              long vOff, DeviceBuffer out, long outOff, AttentionShape shape,
                              DeviceBuffer positions, long posOff, int slots);

    /** Fails unless a cache of {@code slots} slots holds every position the shape attends from. */
    static void requireSlots(AttentionShape shape, int slots) {
        if (slots < shape.startPos() + shape.tokens()) {
            throw new IllegalArgumentException("a cache of " + slots + " slots cannot hold positions up to "
                    + (shape.startPos() + shape.tokens() - 1));
        }
    }

    /**
     * Starts recording: until {@link #endRecording}, kernel methods are recorded instead of run.
     * Nothing may be allocated, uploaded or downloaded meanwhile.
     */
    void beginRecording();

    /** Ends recording and returns what was recorded, ready to {@link DeviceGraph#launch}. */
    DeviceGraph endRecording();
}
