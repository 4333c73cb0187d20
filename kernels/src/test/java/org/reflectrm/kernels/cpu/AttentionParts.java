package org.reflectrm.kernels.cpu;

import java.util.Random;

/** Throwaway: single-thread cost of each step of one blocked forward / backward task. */
public class AttentionParts {
    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), d = Integer.parseInt(args[2]);
        PackedGemm gemm = new PackedGemm(new Parallel(1), PackedGemm.DEFAULT);
        Random rnd = new Random(1);
        float[] q = new float[m * d], k = new float[n * d], v = new float[n * d], p = new float[m * n], dp = new float[m * n], o = new float[m * d];
        for (float[] a : new float[][] {q, k, v}) for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        float[] mx = new float[m], inv = new float[m];
        double fl = 2.0 * m * n * d;
        float[] big = new float[512 * 512], big2 = new float[512 * 512], big3 = new float[512 * 512];
        for (int round = 0; round < 3; round++) {
            double tB = AttentionTiming.time(20, () -> AttentionBlocks.ab(gemm, big, 0, big2, 0, big3, 512, 512, 512));
            System.out.printf("512^3 serial: %.3f ms (%.0f GF)%n", tB, 2.0 * 512 * 512 * 512 / tB / 1e6);
            float[] kt = new float[n * d];
            for (int j = 0; j < n; j++) for (int x = 0; x < d; x++) kt[x * n + j] = k[j * d + x];
            double tN = AttentionTiming.time(50, () -> AttentionBlocks.ab(gemm, q, 0, kt, 0, p, m, n, d));
            double tTr = AttentionTiming.time(50, () -> { for (int j = 0; j < n; j++) for (int x = 0; x < d; x++) kt[x * n + j] = k[j * d + x]; });
            System.out.printf("S via pre-transposed K: %.3f ms; transposing K in Java: %.3f ms%n", tN, tTr);
            double tS = AttentionTiming.time(50, () -> AttentionBlocks.abT(gemm, q, 0, k, 0, p, m, n, d));
            double tSm = AttentionTiming.time(50, () -> {
                AttentionBlocks.abT(gemm, q, 0, k, 0, p, m, n, d);
                AttentionBlocks.softmax(p, m, n, n - m / 2 + 1, 2, 0.1f, mx, inv, 0);
            }) - tS;
            double tO = AttentionTiming.time(50, () -> AttentionBlocks.ab(gemm, p, 0, v, 0, o, m, d, n));
            double tT = AttentionTiming.time(50, () -> AttentionBlocks.aTb(gemm, p, 0, q, 0, dp, n, d, m));
            double tPr = AttentionTiming.time(50, () -> {
                AttentionBlocks.abT(gemm, q, 0, k, 0, p, m, n, d);
                AttentionBlocks.probabilities(p, m, n, 1, 2, 0.1f, mx, inv, 0);
            }) - tS;
            System.out.printf("m=%d n=%d d=%d: S=QK^T %.3f ms (%.0f GF)  softmax %.3f ms  O=PV %.3f ms (%.0f GF)  P^T.Q %.3f ms (%.0f GF)  probs %.3f ms%n",
                    m, n, d, tS, fl / tS / 1e6, tSm, tO, fl / tO / 1e6, tT, fl / tT / 1e6, tPr);
        }
    }
}
