package org.reflectrm.kernels.device;

import java.util.List;
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

    /**
     * {@link #splitQkvAtPositions} of many sequences (a batch's forward), one after another:
     * sequence i has {@code rows[i]} rows of {@code qkv} and {@code q} after those of the
     * sequences before it, at the positions of the same rows of {@code positions} from
     * {@code posOff}, and its own cache {@code caches.get(i)}. This default makes one call per
     * sequence; CUDA splits a batch of one-row sequences in one launch.
     */
    default void splitQkvAtPositions(DeviceBuffer qkv, long qkvOff, int heads, int kvHeads, int headDim,
                                     DeviceBuffer qNorm, long qNormOff, DeviceBuffer kNorm, long kNormOff,
                                     DType normType, float eps, DeviceBuffer positions, long posOff, float theta,
                                     DeviceBuffer q, long qOff, int[] rows, List<KvSlots> caches) {
        if (rows.length != caches.size()) {
            throw new IllegalArgumentException(rows.length + " sequences but " + caches.size() + " caches");
        }
        long qkvRow = (long) (heads + 2 * kvHeads) * headDim, qRow = (long) heads * headDim;
        long row = 0;
        for (int i = 0; i < rows.length; i++) {
            KvSlots c = caches.get(i);
            splitQkvAtPositions(qkv, qkvOff + row * qkvRow, rows[i], heads, kvHeads, headDim, qNorm, qNormOff,
                    kNorm, kNormOff, normType, eps, positions, posOff + row, theta, q, qOff + row * qRow,
                    c.k(), c.kOff(), c.v(), c.vOff(), c.slots());
            row += rows[i];
        }
    }

    /**
     * {@link #attentionAtPositions} of many sequences (a batch's decode step), each against its
     * own F32 cache without a shared prefix: call i's first token is at
     * {@code positions[posOff + r]}, r being the number of query rows of the calls before it, and
     * its cache holds {@code slots[i]} slots. Each call gets what its own call computes. This
     * default makes them one by one; CUDA attends a batch of one-token sequences in one launch.
     */
    default void attentionAtPositions(List<AttentionCall> calls, DeviceBuffer positions, long posOff, int[] slots) {
        if (slots.length != calls.size()) {
            throw new IllegalArgumentException(calls.size() + " sequences but " + slots.length + " cache sizes");
        }
        long row = 0;
        for (int i = 0; i < calls.size(); i++) {
            AttentionCall c = calls.get(i);
            if (c.prefixLength() != 0 || c.kvType() != DType.F32) {
                throw new IllegalArgumentException("attention at positions reads F32 caches without a shared prefix");
            }
            attentionAtPositions(c.q(), c.qOff(), c.k(), c.kOff(), c.v(), c.vOff(), c.out(), c.outOff(), c.shape(),
                    positions, posOff + row, slots[i]);
            row += c.shape().tokens();
        }
    }

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
