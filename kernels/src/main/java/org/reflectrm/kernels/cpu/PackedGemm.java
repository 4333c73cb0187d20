package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

/**
 * Cache-blocked GEMM on packed operands, for products with enough rows to amortise packing.
 *
 * <p>The loop nest is the classic one (Goto and van de Geijn, "Anatomy of high-performance matrix
 * multiplication"): a {@code kc × nc} block of B is packed (and widened to F32) once, then reused
 * for every row of A; an {@code mc × kc} block of A is packed once per B block. The micro-kernel
 * keeps an {@code MR × NR} tile of C in 16 vector registers and runs down k doing rank-1 updates:
 * per step it loads two vectors of B, broadcasts eight scalars of A and issues sixteen FMAs, so
 * loads never limit the FMA ports. Packing makes both operands contiguous whatever the layout, so
 * all four transA/transB combinations and all three B types share this one kernel.
 *
 * <p>Work is split into column blocks (and row blocks when there are too few columns), each an
 * independent task with its own packing buffers, so threads never wait on each other.
 */
final class PackedGemm {
    /** Rows of the C tile held in registers. */
    static final int MR = 8;
    /** Columns of the C tile held in registers: two vectors. */
    static final int NR = 2 * L;

    /**
     * Cache block sizes. kc: depth of one packed panel, sized so a {@code kc × NR} B panel stays
     * in L1 while the kernel sweeps the rows. mc: rows of A packed at a time (an L2-sized block).
     * nc: widest column block one task packs (the B block, about 1 MB, in L2).
     */
    record Blocking(int kc, int mc, int nc) {
        Blocking {
            if (kc < 1 || mc < MR || mc % MR != 0 || nc < NR || nc % NR != 0) {
                throw new IllegalArgumentException("bad blocking " + this);
            }
        }
    }

    static final Blocking DEFAULT = new Blocking(256, 128, 1024);

    private final Parallel parallel;
    private final Blocking blocking;
    private final ThreadLocal<float[][]> buffers = ThreadLocal.withInitial(() -> new float[2][]);

    PackedGemm(Parallel parallel, Blocking blocking) {
        this.parallel = parallel;
        this.blocking = blocking;
    }

    void run(Gemm g) {
        int threads = parallel.threads();
        // Column blocks first: each task then packs a disjoint part of B, so B is packed once.
        int colChunk = roundUp(Math.min(blocking.nc(), ceilDiv(g.n(), threads)), NR);
        int colTasks = ceilDiv(g.n(), colChunk);
        // Too few columns to keep every thread busy: split the rows as well.
        int rowTasks = colTasks >= threads ? 1 : ceilDiv(threads, colTasks);
        int rowChunk = roundUp(ceilDiv(g.m(), rowTasks), MR);
        rowTasks = ceilDiv(g.m(), rowChunk);
        int tasks = rowTasks * colTasks;
        parallel.forEach(tasks, t -> {
            int i0 = (t / colTasks) * rowChunk;
            int j0 = (t % colTasks) * colChunk;
            block(g, i0, Math.min(g.m(), i0 + rowChunk), j0, Math.min(g.n(), j0 + colChunk));
        });
    }

    /** C[i0..i1, j0..j1] in full, looping over k in panels of kc. */
    private void block(Gemm g, int i0, int i1, int j0, int j1) {
        int kc = Math.min(blocking.kc(), g.k());
        int mc = blocking.mc();
        float[] bp = buffer(0, kc * roundUp(j1 - j0, NR));
        float[] ap = buffer(1, kc * Math.min(mc, roundUp(i1 - i0, MR)));
        for (int p0 = 0; p0 < g.k(); p0 += kc) {
            int pk = Math.min(kc, g.k() - p0);
            // The first panel overwrites C unless the caller asked to accumulate.
            boolean add = g.accumulate() || p0 > 0;
            packB(g, j0, j1, p0, pk, bp);
            for (int ic = i0; ic < i1; ic += mc) {
                int ie = Math.min(i1, ic + mc);
                packA(g, ic, ie, p0, pk, ap);
                for (int jr = j0; jr < j1; jr += NR) {
                    int bAt = (jr - j0) / NR * pk * NR;
                    int cols = Math.min(NR, j1 - jr);
                    for (int ir = ic; ir < ie; ir += MR) {
                        int aAt = (ir - ic) / MR * pk * MR;
                        kernel(ap, aAt, bp, bAt, pk, g.c(), g.cIndex(ir, jr), g.n(), Math.min(MR, ie - ir), cols, add);
                    }
                }
            }
        }
    }

    /**
     * The micro-kernel: an 8 × 2L tile of C, {@code C (+)= Ap · Bp} over {@code kc} steps. Ap holds
     * MR scalars per step, Bp NR; rows and cols say how much of the tile lies inside C.
     */
    private static void kernel(float[] ap, int aAt, float[] bp, int bAt, int kc,
                               MemorySegment c, long cAt, int ldc, int rows, int cols, boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int p = 0; p < kc; p++) {
            int b = bAt + p * NR;
            int a = aAt + p * MR;
            FloatVector b0 = FloatVector.fromArray(F, bp, b);
            FloatVector b1 = FloatVector.fromArray(F, bp, b + L);
            FloatVector x = FloatVector.broadcast(F, ap[a]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(F, ap[a + 1]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(F, ap[a + 2]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(F, ap[a + 3]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(F, ap[a + 4]);
            c40 = b0.fma(x, c40);
            c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(F, ap[a + 5]);
            c50 = b0.fma(x, c50);
            c51 = b1.fma(x, c51);
            x = FloatVector.broadcast(F, ap[a + 6]);
            c60 = b0.fma(x, c60);
            c61 = b1.fma(x, c61);
            x = FloatVector.broadcast(F, ap[a + 7]);
            c70 = b0.fma(x, c70);
            c71 = b1.fma(x, c71);
        }
        if (rows == MR && cols == NR) {
            put(c00, c01, c, cAt, add);
            put(c10, c11, c, cAt += ldc, add);
            put(c20, c21, c, cAt += ldc, add);
            put(c30, c31, c, cAt += ldc, add);
            put(c40, c41, c, cAt += ldc, add);
            put(c50, c51, c, cAt += ldc, add);
            put(c60, c61, c, cAt += ldc, add);
            put(c70, c71, c, cAt + ldc, add);
        } else {
            // The tile overhangs C (the padding rows/columns hold zeros): spill, then copy what fits.
            float[] t = new float[MR * NR];
            c00.intoArray(t, 0);
            c01.intoArray(t, L);
            c10.intoArray(t, NR);
            c11.intoArray(t, NR + L);
            c20.intoArray(t, 2 * NR);
            c21.intoArray(t, 2 * NR + L);
            c30.intoArray(t, 3 * NR);
            c31.intoArray(t, 3 * NR + L);
            c40.intoArray(t, 4 * NR);
            c41.intoArray(t, 4 * NR + L);
            c50.intoArray(t, 5 * NR);
            c51.intoArray(t, 5 * NR + L);
            c60.intoArray(t, 6 * NR);
            c61.intoArray(t, 6 * NR + L);
            c70.intoArray(t, 7 * NR);
            c71.intoArray(t, 7 * NR + L);
            putPartial(t, c, cAt, ldc, rows, cols, add);
        }
    }

    /** Writes (or adds) one full tile row of two vectors to C. */
    private static void put(FloatVector v0, FloatVector v1, MemorySegment c, long at, boolean add) {
        if (add) {
            v0 = v0.add(Lanes.f32(c, at));
            v1 = v1.add(Lanes.f32(c, at + L));
        }
        Lanes.store(v0, c, at);
        Lanes.store(v1, c, at + L);
    }

    /** Writes (or adds) the top-left rows × cols corner of a spilled tile to C. */
    private static void putPartial(float[] t, MemorySegment c, long at, int ldc, int rows, int cols, boolean add) {
        for (int r = 0; r < rows; r++, at += ldc) {
            for (int j = 0; j < cols; j++) {
                float v = t[r * NR + j];
                Lanes.setF(c, at + j, add ? Lanes.getF(c, at + j) + v : v);
            }
        }
    }

    /**
     * Packs op(B)[p0..p0+pk, j0..j1] widened to F32 as panels of NR columns: panel q holds
     * {@code bp[q·pk·NR + p·NR + jj] = op(B)[p0+p, j0+q·NR+jj]}; columns past j1 are zero.
     */
    private static void packB(Gemm g, int j0, int j1, int p0, int pk, float[] bp) {
        for (int jr = j0; jr < j1; jr += NR) {
            int base = (jr - j0) / NR * pk * NR;
            int cols = Math.min(NR, j1 - jr);
            if (g.transB()) {
                // B is [n, k]: column j of op(B) is a contiguous row of B; transpose it in.
                for (int jj = 0; jj < cols; jj++) {
                    widenStrided(g, g.bIndex(p0, jr + jj), pk, bp, base + jj);
                }
            } else {
                // B is [k, n]: each step's NR values are contiguous; copy them as vectors.
                for (int p = 0; p < pk; p++) {
                    widenRow(g, g.bIndex(p0 + p, jr), cols, bp, base + p * NR);
                }
            }
            if (cols < NR && g.transB()) {
                for (int p = 0; p < pk; p++) {
                    java.util.Arrays.fill(bp, base + p * NR + cols, base + (p + 1) * NR, 0f);
                }
            }
        }
    }

    /** {@code dst[at + p·NR] = widen(B[src + p])} for p in [0, count). */
    private static void widenStrided(Gemm g, long src, int count, float[] dst, int at) {
        MemorySegment b = g.b();
        switch (g.bType()) {
            case F32 -> {
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = b.getAtIndex(JAVA_FLOAT_UNALIGNED, src + p);
                }
            }
            case BF16 -> {
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = Float.intBitsToFloat(b.getAtIndex(JAVA_SHORT_UNALIGNED, src + p) << 16);
                }
            }
            case F16 -> {
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = Float.float16ToFloat(b.getAtIndex(JAVA_SHORT_UNALIGNED, src + p));
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + g.bType());
        }
    }

    /** {@code dst[at .. at+NR) = widen(B[src .. src+cols))}, zero past cols. */
    private static void widenRow(Gemm g, long src, int cols, float[] dst, int at) {
        if (cols == NR) {
            Lanes.load(g.bType(), g.b(), src).intoArray(dst, at);
            Lanes.load(g.bType(), g.b(), src + L).intoArray(dst, at + L);
        } else {
            for (int jj = 0; jj < NR; jj++) {
                dst[at + jj] = jj < cols ? Lanes.scalar(g.bType(), g.b(), src + jj) : 0f;
            }
        }
    }

    /**
     * Packs op(A)[i0..i1, p0..p0+pk] as panels of MR rows: panel q holds
     * {@code ap[q·pk·MR + p·MR + ii] = op(A)[i0+q·MR+ii, p0+p]}; rows past i1 are zero.
     */
    private static void packA(Gemm g, int i0, int i1, int p0, int pk, float[] ap) {
        MemorySegment a = g.a();
        for (int ir = i0; ir < i1; ir += MR) {
            int base = (ir - i0) / MR * pk * MR;
            int rows = Math.min(MR, i1 - ir);
            if (!g.transA()) {
                // A is [m, k]: each row is contiguous; transpose MR of them in.
                for (int ii = 0; ii < rows; ii++) {
                    long src = g.aIndex(ir + ii, p0);
                    int at = base + ii;
                    for (int p = 0; p < pk; p++) {
                        ap[at + p * MR] = a.getAtIndex(JAVA_FLOAT_UNALIGNED, src + p);
                    }
                }
            } else {
                // A is [k, m]: each step's MR values are contiguous.
                for (int p = 0; p < pk; p++) {
                    long src = g.aIndex(ir, p0 + p);
                    int at = base + p * MR;
                    for (int ii = 0; ii < rows; ii++) {
                        ap[at + ii] = a.getAtIndex(JAVA_FLOAT_UNALIGNED, src + ii);
                    }
                }
            }
            if (rows < MR) {
                for (int p = 0; p < pk; p++) {
                    java.util.Arrays.fill(ap, base + p * MR + rows, base + (p + 1) * MR, 0f);
                }
            }
        }
    }

    /** This thread's packing buffer {@code which}, grown to at least {@code size} floats. */
    private float[] buffer(int which, int size) {
        float[][] mine = buffers.get();
        if (mine[which] == null || mine[which].length < size) {
            mine[which] = new float[size];
        }
        return mine[which];
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
