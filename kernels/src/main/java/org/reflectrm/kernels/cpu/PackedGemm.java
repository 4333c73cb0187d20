package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.Q8Format;

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
     * Cache block sizes. kc: depth of one packed panel; mc: rows of A packed at a time; nc: widest
     * column block one task packs. Each tile's C rows are read and written once per kc panel, and
     * those accesses miss the caches, so a deep kc pays: with kc = 1024 a {@code kc × NR} B panel
     * (128 KB) and the {@code mc × kc} A block (512 KB) sit in L2, which the kernel tolerates
     * (measured 150-160 GFLOPS per core from L2 against 160-170 from L1), and C is visited k/1024
     * times instead of k/256. Measured on the 2-core AVX-512 VM, 2048³: kc 256 → 1024 raised the
     * median from 194 to 221 GFLOPS.
     */
    record Blocking(int kc, int mc, int nc) {
        Blocking {
            if (kc < 1 || mc < MR || mc % MR != 0 || nc < NR || nc % NR != 0) {
                throw new IllegalArgumentException("bad blocking " + this);
            }
        }
    }

    /** Multiply-adds below which a product is not split across threads. */
    private static final long MIN_PARALLEL_WORK = 1 << 18;

    static final Blocking DEFAULT = new Blocking(1024, 128, 1024);

    private final Parallel parallel;
    private final Blocking blocking;
    private final ThreadLocal<float[][]> buffers = ThreadLocal.withInitial(() -> new float[4][]);

    PackedGemm(Parallel parallel, Blocking blocking) {
        this.parallel = parallel;
        this.blocking = blocking;
    }

    void run(Gemm g) {
        run(g, null);
    }

    /** {@link #run(Gemm)}, packing B from {@code panels} when given (B is then their weight, transB). */
    void run(Gemm g, Panels panels) {
        // Handing work to another thread costs a few microseconds: small products stay on one.
        int threads = (long) g.m() * g.n() * g.k() < MIN_PARALLEL_WORK ? 1 : parallel.threads();
        // Each task packs the A rows and B columns it covers, so the operand that is split across
        // tasks is packed once and the other once per task. Split the larger one: for tall
        // products (training's [tokens, features] activations against a weight) that is A.
        int colChunk, colTasks, rowChunk, rowTasks;
        if (threads > 1 && g.m() > g.n()) {
            rowChunk = roundUp(ceilDiv(g.m(), threads), MR);
            colChunk = roundUp(Math.min(blocking.nc(), g.n()), NR);
        } else {
            colChunk = roundUp(Math.min(blocking.nc(), ceilDiv(g.n(), threads)), NR);
            // Too few columns to keep every thread busy: split the rows as well.
            int tasks = ceilDiv(g.n(), colChunk);
            rowChunk = roundUp(ceilDiv(g.m(), tasks >= threads ? 1 : ceilDiv(threads, tasks)), MR);
        }
        colTasks = ceilDiv(g.n(), colChunk);
        rowTasks = ceilDiv(g.m(), rowChunk);
        int tasks = rowTasks * colTasks;
        parallel.forEach(tasks, t -> {
            int i0 = (t / colTasks) * rowChunk;
            int j0 = (t % colTasks) * colChunk;
            block(g, panels, i0, Math.min(g.m(), i0 + rowChunk), j0, Math.min(g.n(), j0 + colChunk));
        });
    }

    /**
     * The whole product on the calling thread, for kernels that already run inside a parallel
     * task (blocked attention): a nested {@link Parallel} call would wait on its own team.
     */
    void serial(Gemm g) {
        if (g.m() > 0 && g.n() > 0) {
            block(g, null, 0, g.m(), 0, g.n());
        }
    }

    /** C[i0..i1, j0..j1] in full, looping over k in panels of kc. */
    private void block(Gemm g, Panels panels, int i0, int i1, int j0, int j1) {
        int kc = Math.min(blocking.kc(), g.k());
        int mc = blocking.mc();
        float[] bp = buffer(0, kc * roundUp(j1 - j0, NR));
        float[] ap = buffer(1, kc * Math.min(mc, roundUp(i1 - i0, MR)));
        float[] tile = buffer(2, MR * NR);
        for (int p0 = 0; p0 < g.k(); p0 += kc) {
            int pk = Math.min(kc, g.k() - p0);
            // The first panel overwrites C unless the caller asked to accumulate.
            boolean add = g.accumulate() || p0 > 0;
            if (panels != null) {
                // Column blocks start on panel boundaries (colChunk is a multiple of NR = COLUMNS).
                for (int jr = j0; jr < j1; jr += NR) {
                    panels.widen(jr / NR, p0, pk, bp, (jr - j0) / NR * pk * NR);
                }
            } else {
                packB(g, j0, j1, p0, pk, bp);
            }
            for (int ic = i0; ic < i1; ic += mc) {
                int ie = Math.min(i1, ic + mc);
                packA(g, ic, ie, p0, pk, ap);
                for (int jr = j0; jr < j1; jr += NR) {
                    int bAt = (jr - j0) / NR * pk * NR;
                    int cols = Math.min(NR, j1 - jr);
                    for (int ir = ic; ir < ie; ir += MR) {
                        int aAt = (ir - ic) / MR * pk * MR;
                        kernel(ap, aAt, bp, bAt, pk, tile);
                        merge(tile, g.c(), g.cIndex(ir, jr), g.n(), Math.min(MR, ie - ir), cols, add);
                    }
                }
            }
        }
    }

    /**
     * The micro-kernel: an MR × NR tile {@code Ap · Bp} over {@code kc} steps, left in {@code tile}
     * (row-major, NR wide). Ap holds MR scalars per step, Bp NR.
     */
    private static void kernel(float[] ap, int aAt, float[] bp, int bAt, int kc, float[] tile) {
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
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
    }

    /**
     * Writes (or adds) the top-left {@code rows × cols} corner of a finished tile into C.
     *
     * <p>This is deliberately a separate step from {@link #kernel}: reading C through the Vector
     * API inside the kernel, after its k loop, made C2 (JDK 25) box all sixteen accumulators on
     * every iteration, running at 10 GFLOPS instead of 170. Spilling to an array costs 1 KB of
     * L1 traffic per tile against kc·16 FMAs.
     */
    private static void merge(float[] tile, MemorySegment c, long at, int ldc, int rows, int cols, boolean add) {
        if (cols == NR) {
            for (int r = 0; r < rows; r++, at += ldc) {
                FloatVector v0 = FloatVector.fromArray(F, tile, r * NR);
                FloatVector v1 = FloatVector.fromArray(F, tile, r * NR + L);
                if (add) {
                    v0 = v0.add(Lanes.f32(c, at));
                    v1 = v1.add(Lanes.f32(c, at + L));
                }
                Lanes.store(v0, c, at);
                Lanes.store(v1, c, at + L);
            }
        } else {
            // A tile overhanging the right edge of C: its padding columns are dropped.
            for (int r = 0; r < rows; r++, at += ldc) {
                for (int j = 0; j < cols; j++) {
                    float v = tile[r * NR + j];
                    Lanes.setF(c, at + j, add ? Lanes.getF(c, at + j) + v : v);
                }
            }
        }
    }

    /**
     * Packs op(B)[p0..p0+pk, j0..j1] widened to F32 as panels of NR columns: panel q holds
     * {@code bp[q·pk·NR + p·NR + jj] = op(B)[p0+p, j0+q·NR+jj]}; columns past j1 are zero.
     */
    private void packB(Gemm g, int j0, int j1, int p0, int pk, float[] bp) {
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
                widenRows(g, jr, cols, p0, pk, bp, base);
            }
            if (cols < NR && g.transB()) {
                for (int p = 0; p < pk; p++) {
                    java.util.Arrays.fill(bp, base + p * NR + cols, base + (p + 1) * NR, 0f);
                }
            }
        }
    }

    /**
     * {@code dst[at + p·NR] = widen(B[src + p])} for p in [0, count): one row of a transposed B
     * into a panel column. The row is first copied out in bulk (reading a segment element by
     * element pays a bounds check each), then widened from the array.
     */
    private void widenStrided(Gemm g, long src, int count, float[] dst, int at) {
        MemorySegment b = g.b();
        switch (g.bType()) {
            case F32 -> {
                float[] row = buffer(3, count);
                MemorySegment.copy(b, JAVA_FLOAT_UNALIGNED, src * 4, row, 0, count);
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = row[p];
                }
            }
            case BF16 -> {
                short[] row = shortBuffer(count);
                MemorySegment.copy(b, JAVA_SHORT_UNALIGNED, src * 2, row, 0, count);
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = Float.intBitsToFloat(row[p] << 16);
                }
            }
            case F16 -> {
                short[] row = shortBuffer(count);
                MemorySegment.copy(b, JAVA_SHORT_UNALIGNED, src * 2, row, 0, count);
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = Float.float16ToFloat(row[p]);
                }
            }
            case Q8 -> {
                float[] row = buffer(3, count);
                Lanes.dequantize(b, src, row, count);
                for (int p = 0; p < count; p++) {
                    dst[at + p * NR] = row[p];
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + g.bType());
        }
    }

    private final ThreadLocal<short[][]> shortBuffers = ThreadLocal.withInitial(() -> new short[1][]);

    private short[] shortBuffer(int size) {
        short[][] mine = shortBuffers.get();
        if (mine[0] == null || mine[0].length < size) {
            mine[0] = new short[size];
        }
        return mine[0];
    }

    /**
     * {@code dst[at + p·NR + jj] = widen(B[p0+p, jr+jj])} for p in [0, pk), zero past cols. The
     * type switch is outside the loops: a loop that switches per element on the weight type ran
     * several times slower once the JIT had seen two types.
     */
    private static void widenRows(Gemm g, int jr, int cols, int p0, int pk, float[] dst, int at) {
        MemorySegment b = g.b();
        if (cols < NR) {
            for (int p = 0; p < pk; p++) {
                long src = g.bIndex(p0 + p, jr);
                for (int jj = 0; jj < NR; jj++) {
                    dst[at + p * NR + jj] = jj < cols ? Lanes.scalar(g.bType(), b, src + jj) : 0f;
                }
            }
            return;
        }
        switch (g.bType()) {
            case F32 -> {
                for (int p = 0; p < pk; p++) {
                    long src = g.bIndex(p0 + p, jr);
                    Lanes.f32(b, src).intoArray(dst, at + p * NR);
                    Lanes.f32(b, src + L).intoArray(dst, at + p * NR + L);
                }
            }
            case BF16 -> {
                for (int p = 0; p < pk; p++) {
                    long src = g.bIndex(p0 + p, jr);
                    Lanes.bf16(b, src).intoArray(dst, at + p * NR);
                    Lanes.bf16(b, src + L).intoArray(dst, at + p * NR + L);
                }
            }
            case F16 -> {
                for (int p = 0; p < pk; p++) {
                    long src = g.bIndex(p0 + p, jr);
                    Lanes.f16(b, src).intoArray(dst, at + p * NR);
                    Lanes.f16(b, src + L).intoArray(dst, at + p * NR + L);
                }
            }
            default -> throw new IllegalArgumentException("cannot compute with " + g.bType());
        }
    }

    /**
     * Packs op(A)[i0..i1, p0..p0+pk] as panels of MR rows: panel q holds
     * {@code ap[q·pk·MR + p·MR + ii] = op(A)[i0+q·MR+ii, p0+p]}; rows past i1 are zero.
     */
    private void packA(Gemm g, int i0, int i1, int p0, int pk, float[] ap) {
        MemorySegment a = g.a();
        float[] row = g.transA() ? null : buffer(3, pk);
        for (int ir = i0; ir < i1; ir += MR) {
            int base = (ir - i0) / MR * pk * MR;
            int rows = Math.min(MR, i1 - ir);
            if (!g.transA()) {
                // A is [m, k]: copy each row out in bulk (per-element segment reads cost a bounds
                // check each), then transpose it into the panel.
                for (int ii = 0; ii < rows; ii++) {
                    MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, g.aIndex(ir + ii, p0) * 4, row, 0, pk);
                    int at = base + ii;
                    for (int p = 0; p < pk; p++) {
                        ap[at + p * MR] = row[p];
                    }
                }
            } else if (rows == MR) {
                // A is [k, m]: each step's MR values are contiguous, one 8-lane load.
                for (int p = 0; p < pk; p++) {
                    FloatVector.fromMemorySegment(A_STEP, a, g.aIndex(ir, p0 + p) * 4, ByteOrder.nativeOrder())
                            .intoArray(ap, base + p * MR);
                }
            } else {
                for (int p = 0; p < pk; p++) {
                    long src = g.aIndex(ir, p0 + p);
                    for (int ii = 0; ii < rows; ii++) {
                        ap[base + p * MR + ii] = a.getAtIndex(JAVA_FLOAT_UNALIGNED, src + ii);
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

    /** MR floats: one step of a transposed A panel. */
    private static final VectorSpecies<Float> A_STEP = FloatVector.SPECIES_256;

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
