package org.reflectrm.model.train.data;

import java.util.Random;

/**
 * Seeded permutations that are the same on every JVM: Fisher-Yates on {@link java.util.Random}, whose generator
 * is fully specified by its Javadoc (unlike {@code Collections.shuffle}'s exact draw sequence, which is only
 * an implementation detail, or {@code SplittableRandom}, whose algorithm is not part of its contract).
 */
public final class Shuffle {

    private Shuffle() {
    }

    /** A permutation of {@code 0..n-1} determined by {@code seed}. */
    public static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        Random rnd = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A seed for stream {@code stream} of {@code seed} (SplitMix64 finalizer), so nearby inputs give unrelated seeds. */
    public static long derive(long seed, long stream) {
        long z = seed + 0x9E3779B97F4A7C15L * (stream + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
