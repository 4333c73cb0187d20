package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.reflectrm.kernels.DType;

/**
 * A linear weight {@code W[n, k]} repacked for batched decode: panels of {@link #COLUMNS} output
 * columns, each holding every input step's {@code COLUMNS} weights next to each other, so one
 * step of a panel widens to the two F32 vectors of an 8-row by 2L-column tile of C kept in
 * sixteen registers (the shape of {@link PackedGemm}'s micro-kernel). Each W step is widened
 * once for eight rows, no output ends in a lane reduction, and each thread streams its panels
 * in one sequential run that the prefetchers follow.
 *
 * <p>This class holds what the stored types share: the tiling of C, the A rows in step-major
 * order and the split across threads. A subclass per stored type owns the layout of a step and
 * the tile kernel that reads it ({@link Bf16Panels}, {@link Q8Panels}): each kernel is one
 * straight loop that widens in place, because a vector that crosses a call C2 does not inline,
 * or merges from two decoders, is boxed.
 *
 * <p>The price is a copy of the weights, the size of the stored type, made once per weight on
 * its first batched use ({@link PanelCache}, within a memory budget).
 */
public abstract sealed class Panels permits Bf16Panels, Q8Panels {
    /** Output columns per panel. */
    public static final int COLUMNS = 2 * L;
    /** Rows of C per tile. */
    static final int ROWS = 8;

    final MemorySegment panels;
    final int n;
    final int k;

    Panels(MemorySegment panels, int n, int k) {
        this.panels = panels;
        this.n = n;
        this.k = k;
    }

    /** Output features. */
    public int n() {
        return n;
    }

    /** Input features. */
    public int k() {
        return k;
    }

    /** The stored type these panels were packed from. */
    public abstract DType type();

    /** Whether a weight of this type and n output features can be packed. */
    static boolean fits(DType type, int n) {
        return (type == DType.BF16 || type == DType.Q8) && n % COLUMNS == 0;
    }

    /** Bytes of the panels of a {@code W[n, k]} of this type: the stored weight's size. */
    static long bytes(DType type, int n, int k) {
        return type.bytes((long) n * k);
    }

    /** Repacks {@code W[n, k]} of {@code type} at element offset {@code off} into memory owned by {@code arena}. */
    public static Panels pack(DType type, MemorySegment w, long off, int n, int k, Arena arena) {
        return switch (type) {
            case BF16 -> Bf16Panels.pack(w, off, n, k, arena);
            case Q8 -> Q8Panels.pack(w, off, n, k, arena);
            default -> throw new IllegalArgumentException("no panels for " + type);
        };
    }

    /** Refuses a shape whose columns do not fill whole panels. */
    static void requireShape(int n, int k) {
        if (n <= 0 || k <= 0 || n % COLUMNS != 0) {
            throw new IllegalArgumentException("panels need n > 0 a multiple of " + COLUMNS + " and k > 0, got n="
                    + n + " k=" + k);
        }
    }

    /**
     * {@code C[m, n] = A[m, k] · Wᵀ} for F32 A and C at element offsets {@code aOff}, {@code cOff},
     * with threads splitting the panels. Every output is one tile's sum over k in order, whatever
     * the thread count, so the result is the same bytes on any number of threads.
     */
    void multiply(MemorySegment a, long aOff, int m, MemorySegment c, long cOff, Parallel parallel) {
        for (int i0 = 0; i0 < m; i0 += ROWS) {
            int rows = Math.min(ROWS, m - i0);
            float[] ap = stepMajor(a, aOff + (long) i0 * k, rows);
            long cRow0 = cOff + (long) i0 * n;
            parallel.forRange(n / COLUMNS, 1, (from, to) -> {
                float[] tile = new float[ROWS * COLUMNS];
                for (int q = from; q < to; q++) {
                    tile(ap, q, tile);
                    for (int r = 0; r < rows; r++) {
                        MemorySegment.copy(tile, r * COLUMNS, c, ValueLayout.JAVA_FLOAT_UNALIGNED,
                                4 * (cRow0 + (long) r * n + (long) q * COLUMNS), COLUMNS);
                    }
                }
            });
        }
    }

    /**
     * The 8 × 2L tile of panel q against the step-major A rows {@code ap}, left in {@code tile}
     * (row-major). As in {@link PackedGemm#kernel} the accumulators leave through an array: C2
     * keeps all sixteen in registers only when nothing else follows the loop in the method.
     */
    abstract void tile(float[] ap, int q, float[] tile);

    /**
     * Steps {@code [p0, p0 + pk)} of panel {@code q} widened to F32 into {@code dst} from
     * {@code at}, {@link #COLUMNS} floats a step: the layout of {@link PackedGemm}'s packed B, so
     * a prefill packs a panel with one contiguous widening pass instead of a transposing one.
     */
    abstract void widen(int q, int p0, int pk, float[] dst, int at);

    /** Up to eight A rows, step-major ({@code ap[p·8 + r]}), missing rows zero. */
    private float[] stepMajor(MemorySegment a, long at, int rows) {
        float[] row = new float[k];
        float[] ap = new float[k * ROWS];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(a, ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (at + (long) r * k), row, 0, k);
            for (int p = 0; p < k; p++) {
                ap[p * ROWS + r] = row[p];
            }
        }
        return ap;
    }
}
