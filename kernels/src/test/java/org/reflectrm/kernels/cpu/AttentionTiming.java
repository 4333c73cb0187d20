package org.reflectrm.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.reflectrm.kernels.AttentionShape;

/** Throwaway: old vs new attention forward/backward times. */
public class AttentionTiming {
    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]);
        Parallel par = new Parallel(threads);
        OldCpuAttention oldF = new OldCpuAttention(par);
        OldCpuAttentionBackward oldB = new OldCpuAttentionBackward(par);
        CpuAttention newF = new CpuAttention(par);
        CpuAttentionBackward newB = new CpuAttentionBackward(par);
        int[][] cfgs = {{256, 4, 2, 64}, {1024, 16, 8, 128}};
        for (int round = 0; round < 2; round++) for (int[] c : cfgs) {
            AttentionShape s = new AttentionShape(c[0], 0, c[1], c[2], c[3], (float) (1 / Math.sqrt(c[3])));
            Random rnd = new Random(1);
            long nq = (long) c[0] * c[1] * c[3], nkv = (long) c[0] * c[2] * c[3];
            Arena a = Arena.ofShared();
            MemorySegment q = rand(a, rnd, nq), k = rand(a, rnd, nkv), v = rand(a, rnd, nkv), dOut = rand(a, rnd, nq);
            MemorySegment out = a.allocate(nq * 4, 64), dq = a.allocate(nq * 4, 64), dk = a.allocate(nkv * 4, 64),
                    dv = a.allocate(nkv * 4, 64);
            newF.attention(q, 0, k, 0, v, 0, out, 0, s);
            int reps = c[0] > 500 ? 10 : 40;
            double of = time(reps, () -> oldF.attention(q, 0, k, 0, v, 0, out, 0, s));
            double nf = time(reps, () -> newF.attention(q, 0, k, 0, v, 0, out, 0, s));
            double ob = time(reps, () -> oldB.attentionBackward(q, 0, k, 0, v, 0, out, 0, dOut, 0, dq, 0, dk, 0, dv, 0, s));
            double nb = time(reps, () -> newB.attentionBackward(q, 0, k, 0, v, 0, out, 0, dOut, 0, dq, 0, dk, 0, dv, 0, s));
            // attention FLOPs: causal half of 2·T²·H·d per product; forward 2 products, backward 5 (counted as 7 with recompute)
            double half = (double) c[0] * (c[0] + 1) / 2 * c[1] * c[3] * 2;
            System.out.printf("T=%d H=%d KV=%d d=%d threads=%d  fwd old %.2f ms new %.2f ms (x%.1f, %.0f GFLOPS)  bwd old %.2f ms new %.2f ms (x%.1f, %.0f GFLOPS)%n",
                    c[0], c[1], c[2], c[3], threads, of, nf, of / nf, 2 * half / nf / 1e6, ob, nb, ob / nb, 5 * half / nb / 1e6);
            a.close();
        }
        par.close();
    }

    static MemorySegment rand(Arena a, Random rnd, long n) {
        MemorySegment s = a.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) rnd.nextGaussian());
        }
        return s;
    }

    static double time(int reps, Runnable r) {
        for (int i = 0; i < Math.max(5, reps / 2); i++) {
            r.run();
        }
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[0];
    }
}
