package org.reflectrm.kernels.cpu;

import static org.reflectrm.kernels.cpu.Lanes.F;
import static org.reflectrm.kernels.cpu.Lanes.L;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;

/**
 * A linear layer with few rows, {@code C[m, n] (+)= A[m, k] · W[n, k]ᵀ} for small m (decode and
 * short prompts): every output is a dot product of an A row with a W row, both contiguous. W is
 * read exactly once, so for m = 1 the kernel runs at the speed memory delivers W; A (a few rows)
 * stays in L1. The rows of W are split evenly across threads.
 *
 * <p>Blocks are 4 W rows by 2 A rows (or by 1 A row), so each widened W vector feeds up to two
 * FMAs and each A vector four. The kernels are specialised per weight type rather than
 * switching on it inside the loop: with one shared loop, a JVM that had seen two weight types
 * compiled the switch into the hot loop and ran 5 to 10 times slower.
 *
 * <p>BF16 uses the pair trick: one int load holds an (even, odd) pair of BF16 values, and a shift
 * and an AND widen the evens and the odds to F32 without any cross-lane conversion. A is copied
 * once, de-interleaved to match (the evens of each 2L chunk, then its odds), so the sum is the
 * same products in another order, accumulated in F32.
 */
final class DotLinear {
    /** W rows per block. */
    private static final int ROWS = 4;
    /** Far-apart sequential streams each thread reads W in (see {@link #range}). */
    static final int STREAMS = 4;

    /** Multiply-adds below which a layer is not split across threads (about 10 µs of work). */
    private static final long MIN_TASK_WORK = 1 << 18;

    private final Parallel parallel;
    /** Per-thread scratch of batched decode with 8-bit weights. */
    private final ThreadLocal<Q8Panel> q8Panels = ThreadLocal.withInitial(Q8Panel::new);
    /** Per-thread F32 copy of four F16 rows: F16 runs through the F32 kernels. */
    private final ThreadLocal<MemorySegment[]> f16Rows = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    DotLinear(Parallel parallel) {
        this.parallel = parallel;
    }

    void run(Gemm g) {
        float[] a = g.bType() == DType.BF16 ? deinterleavedA(g) : copyA(g);
        int blocks = PackedGemm.ceilDiv(g.n(), ROWS);
        // Handing work to another thread costs a few microseconds: small layers stay on one.
        long work = (long) g.m() * g.n() * g.k();
        int threads = (int) Math.max(1, Math.min(parallel.threads(), work / MIN_TASK_WORK));
        int per = PackedGemm.ceilDiv(blocks, threads);
        parallel.forEach(PackedGemm.ceilDiv(blocks, per), t -> {
            int from = t * per * ROWS;
            range(g, a, from, Math.min(g.n(), from + per * ROWS));
        });
    }

    /**
     * Output columns [from, to). The range is cut into {@link #STREAMS} equal parts and each block
     * of four W rows takes {@code ROWS / STREAMS} adjacent rows from every part, so a thread reads
     * W as that many far-apart sequential streams. On the test machine (a 2-core Xeon VM) a single
     * sequential stream per core reached only about 2/3 of the DRAM read bandwidth (a C loop with
     * the same widening behaves the same), while several streams let the hardware prefetchers
     * keep more lines in flight: 4 streams measured best (BF16 GEMV 151936×1024: 15 → 21 GB/s).
     * A slot whose part has run out repeats a valid row and is not stored.
     */
    private void range(Gemm g, float[] a, int from, int to) {
        int perStream = ROWS / STREAMS;
        int part = PackedGemm.roundUp(PackedGemm.ceilDiv(to - from, STREAMS), perStream);
        float[] sums = new float[ROWS * ROWS];
        float[] park = new float[ROWS * L];
        int[] cols = new int[ROWS];
        long[] w = new long[ROWS];
        for (int b = 0; b < part; b += perStream) {
            for (int q = 0; q < ROWS; q++) {
                int s = q / perStream;
                int col = from + s * part + b + q % perStream;
                int end = Math.min(to, from + (s + 1) * part);
                cols[q] = col < end ? col : -1;
                // The first slot is always inside the range; a dead slot reads that row again.
                w[q] = g.bOff() + (long) (col < end ? col : cols[0]) * g.k();
            }
            block(g, a, cols, w, sums, park);
        }
    }

    /**
     * All rows of C for the four W rows at {@code w} (columns {@code cols}, -1 where unused);
     * {@code park} holds a kernel's four accumulators between its loop and their reduction.
     */
    private void block(Gemm g, float[] a, int[] cols, long[] w, float[] sums, float[] park) {
        MemorySegment src = g.b();
        DType type = g.bType();
        if (type == DType.F16) {
            src = widenF16(g, w);
            w = new long[] {0, g.k(), 2L * g.k(), 3L * g.k()};
            type = DType.F32;
        }
        if (type == DType.Q8 && g.m() > 1) {
            Q8Panel p = q8Panels.get();
            p.run(g, a, w);
            for (int i = 0; i < g.m(); i++) {
                finish(g, a, i, 1, cols, src, type, w, p.sums, i * ROWS);
            }
            return;
        }
        if (type == DType.Q8) {
            // k is a whole number of blocks (checked by CpuMatmul), so there is no tail.
            for (int i = 0; i < g.m(); i++) {
                q8Block1x4(a, i * g.k(), src, w, g.k(), park);
                reduce4(park, sums);
                finish(g, a, i, 1, cols, src, type, w, sums);
            }
            return;
        }
        int i = 0;
        if (type != DType.BF16) {
            for (; i + 2 <= g.m(); i += 2) {
                f32Block2x4(a, i * g.k(), g.k(), src, w, sums);
                finish(g, a, i, 2, cols, src, type, w, sums);
            }
        }
        // BF16 takes one A row at a time: multi-row BF16 blocks need more vector registers than
        // C2 keeps and it then boxes the accumulators (batch-8 decode ran 3× slower than batch 1).
        // The four W rows stay in L1 between A rows, so W still streams from memory once.
        for (; i < g.m(); i++) {
            if (type == DType.BF16) {
                bf16Block1x4(a, i * g.k(), src, w, g.k(), sums);
            } else {
                f32Block1x4(a, i * g.k(), src, w, g.k(), sums);
            }
            finish(g, a, i, 1, cols, src, type, w, sums);
        }
    }

    /**
     * Adds the tail products the vector kernels left out (k past the last whole chunk) to the
     * block's sums and stores them into C.
     */
    private static void finish(Gemm g, float[] a, int i0, int aRows, int[] cols,
                               MemorySegment w, DType type, long[] wRow, float[] sums) {
        finish(g, a, i0, aRows, cols, w, type, wRow, sums, 0);
    }

    /** {@link #finish} with row r's four sums at {@code sums[sumsAt + 4r ..]}. */
    private static void finish(Gemm g, float[] a, int i0, int aRows, int[] cols,
                               MemorySegment w, DType type, long[] wRow, float[] sums, int sumsAt) {
        int k = g.k();
        int bound = vectorBound(type, k);
        for (int r = 0; r < aRows; r++) {
            int aRow = (i0 + r) * k;
            for (int q = 0; q < ROWS; q++) {
                if (cols[q] < 0) {
                    continue;
                }
                float s = sums[sumsAt + r * ROWS + q];
                for (int p = bound; p < k; p++) {
                    s += a[aRow + p] * Lanes.scalar(type, w, wRow[q] + p);
                }
                long at = g.cIndex(i0 + r, cols[q]);
                Lanes.setF(g.c(), at, g.accumulate() ? Lanes.getF(g.c(), at) + s : s);
            }
        }
    }

    /** Where the vector kernels stop: whole chunks of 2L (BF16 pairs) or L elements. */
    private static int vectorBound(DType type, int k) {
        int chunk = type == DType.BF16 ? 2 * L : L;
        return k - k % chunk;
    }

    /**
     * Two A rows by four W rows: eight accumulators. Four A rows (sixteen accumulators) would
     * read each W vector half as often, but C2 then boxes the vectors and the kernel ran four
     * times slower than one row at a time.
     */
    private static void f32Block2x4(float[] a, int a0, int k, MemorySegment w, long[] wr, float[] out) {
        int a1 = a0 + k;
        long w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        int bound = vectorBound(DType.F32, k);
        for (int p = 0; p < bound; p += L) {
            FloatVector x0 = FloatVector.fromArray(F, a, a0 + p), x1 = FloatVector.fromArray(F, a, a1 + p);
            FloatVector v = Lanes.f32(w, w0 + p);
            c00 = x0.fma(v, c00);
            c10 = x1.fma(v, c10);
            v = Lanes.f32(w, w1 + p);
            c01 = x0.fma(v, c01);
            c11 = x1.fma(v, c11);
            v = Lanes.f32(w, w2 + p);
            c02 = x0.fma(v, c02);
            c12 = x1.fma(v, c12);
            v = Lanes.f32(w, w3 + p);
            c03 = x0.fma(v, c03);
            c13 = x1.fma(v, c13);
        }
        store4(out, 0, c00, c01, c02, c03);
        store4(out, 4, c10, c11, c12, c13);
    }

    private static void f32Block1x4(float[] a, int a0, MemorySegment w, long[] wr, int k, float[] out) {
        long w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int bound = vectorBound(DType.F32, k);
        for (int p = 0; p < bound; p += L) {
            FloatVector x = FloatVector.fromArray(F, a, a0 + p);
            c0 = x.fma(Lanes.f32(w, w0 + p), c0);
            c1 = x.fma(Lanes.f32(w, w1 + p), c1);
            c2 = x.fma(Lanes.f32(w, w2 + p), c2);
            c3 = x.fma(Lanes.f32(w, w3 + p), c3);
        }
        store4(out, 0, c0, c1, c2, c3);
    }

    /** Decode's kernel: evens and odds accumulate separately, eight independent FMA chains. */
    private static void bf16Block1x4(float[] a, int a0, MemorySegment w, long[] wr, int k, float[] out) {
        long w0 = wr[0], w1 = wr[1], w2 = wr[2], w3 = wr[3];
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0;
        int bound = vectorBound(DType.BF16, k);
        for (int p = 0; p < bound; p += 2 * L) {
            FloatVector e = FloatVector.fromArray(F, a, a0 + p);
            FloatVector o = FloatVector.fromArray(F, a, a0 + p + L);
            IntVector p0 = Lanes.bf16Pairs(w, w0 + p);
            IntVector p1 = Lanes.bf16Pairs(w, w1 + p);
            IntVector p2 = Lanes.bf16Pairs(w, w2 + p);
            IntVector p3 = Lanes.bf16Pairs(w, w3 + p);
            c0 = Lanes.even(p0).fma(e, c0);
            d0 = Lanes.odd(p0).fma(o, d0);
            c1 = Lanes.even(p1).fma(e, c1);
            d1 = Lanes.odd(p1).fma(o, d1);
            c2 = Lanes.even(p2).fma(e, c2);
            d2 = Lanes.odd(p2).fma(o, d2);
            c3 = Lanes.even(p3).fma(e, c3);
            d3 = Lanes.odd(p3).fma(o, d3);
        }
        store4(out, 0, c0.add(d0), c1.add(d1), c2.add(d2), c3.add(d3));
    }

    /**
     * Four W rows of 8-bit blocks against one A row. Each block's L-value slices are widened by a
     * sign-extending byte-to-float conversion and multiplied into a per-block sum, which is then
     * scaled into the row's accumulator with one FMA: one multiply per block instead of one per
     * value. A and W are in natural order (no de-interleaving), so the A copy is plain.
     *
     * <p>The accumulators leave through {@code park} ({@link #reduce4} sums them): when they were
     * passed to the reduction as vectors, C2 sometimes compiled this kernel without inlining it
     * and boxed the accumulators in the loop, and batch-1 decode of an 8-bit qwen3-0.6b ran at
     * 15–16 tokens/s instead of 45–55 in about one run of three (seen once 8-bit panels changed
     * what was compiled when; JFR showed the time in the reduction's call).
     */
    private static void q8Block1x4(float[] a, int a0, MemorySegment w, long[] wr, int k, float[] park) {
        long w0 = Q8Format.blockOffset(wr[0]), w1 = Q8Format.blockOffset(wr[1]);
        long w2 = Q8Format.blockOffset(wr[2]), w3 = Q8Format.blockOffset(wr[3]);
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        for (int p = 0; p < k; p += Q8Format.BLOCK, w0 += Q8Format.BLOCK_BYTES, w1 += Q8Format.BLOCK_BYTES,
                w2 += Q8Format.BLOCK_BYTES, w3 += Q8Format.BLOCK_BYTES) {
            FloatVector x = FloatVector.fromArray(F, a, a0 + p);
            FloatVector t0 = Lanes.q8(w, w0).mul(x), t1 = Lanes.q8(w, w1).mul(x);
            FloatVector t2 = Lanes.q8(w, w2).mul(x), t3 = Lanes.q8(w, w3).mul(x);
            for (int v = L; v < Q8Format.BLOCK; v += L) {
                x = FloatVector.fromArray(F, a, a0 + p + v);
                t0 = Lanes.q8(w, w0 + v).fma(x, t0);
                t1 = Lanes.q8(w, w1 + v).fma(x, t1);
                t2 = Lanes.q8(w, w2 + v).fma(x, t2);
                t3 = Lanes.q8(w, w3 + v).fma(x, t3);
            }
            c0 = t0.fma(Lanes.q8Scale(w, w0), c0);
            c1 = t1.fma(Lanes.q8Scale(w, w1), c1);
            c2 = t2.fma(Lanes.q8Scale(w, w2), c2);
            c3 = t3.fma(Lanes.q8Scale(w, w3), c3);
        }
        c0.intoArray(park, 0);
        c1.intoArray(park, L);
        c2.intoArray(park, 2 * L);
        c3.intoArray(park, 3 * L);
    }

    /** The lane sums of the four accumulators parked at {@code park[0 .. 4L)} into {@code out[0 .. 3]}. */
    private static void reduce4(float[] park, float[] out) {
        Lanes.sum4(FloatVector.fromArray(F, park, 0), FloatVector.fromArray(F, park, L),
                FloatVector.fromArray(F, park, 2 * L), FloatVector.fromArray(F, park, 3 * L), out, 0);
    }

    private static void store4(float[] out, int at, FloatVector v0, FloatVector v1, FloatVector v2, FloatVector v3) {
        Lanes.sum4(v0, v1, v2, v3, out, at);
    }

    /** A as a float array, rows of k. */
    private static float[] copyA(Gemm g) {
        float[] a = new float[g.m() * g.k()];
        MemorySegment.copy(g.a(), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, g.aOff() * 4, a, 0, a.length);
        return a;
    }

    /** A with each whole 2L chunk of every row reordered to (evens, odds); the tail stays in order. */
    private static float[] deinterleavedA(Gemm g) {
        float[] a = copyA(g);
        int k = g.k();
        int bound = vectorBound(DType.BF16, k);
        float[] chunk = new float[2 * L];
        for (int i = 0; i < g.m(); i++) {
            for (int p = i * k; p < i * k + bound; p += 2 * L) {
                for (int t = 0; t < L; t++) {
                    chunk[t] = a[p + 2 * t];
                    chunk[L + t] = a[p + 2 * t + 1];
                }
                System.arraycopy(chunk, 0, a, p, 2 * L);
            }
        }
        return a;
    }

    /** Widens four F16 rows into this thread's F32 scratch, rows of k at offsets 0, k, 2k, 3k. */
    private MemorySegment widenF16(Gemm g, long[] rows) {
        int k = g.k();
        MemorySegment[] mine = f16Rows.get();
        if (mine[0] == null || mine[0].byteSize() < 16L * k) {
            mine[0] = Arena.ofAuto().allocate(16L * k, 64);
        }
        MemorySegment dst = mine[0];
        int bound = k - k % L;
        for (int q = 0; q < ROWS; q++) {
            long out = (long) q * k;
            int p = 0;
            for (; p < bound; p += L) {
                Lanes.store(Lanes.f16(g.b(), rows[q] + p), dst, out + p);
            }
            for (; p < k; p++) {
                Lanes.setF(dst, out + p, Lanes.scalar(DType.F16, g.b(), rows[q] + p));
            }
        }
        return dst;
    }
}
