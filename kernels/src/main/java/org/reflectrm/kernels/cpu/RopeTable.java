package org.reflectrm.kernels.cpu;

/**
 * cos and sin of every RoPE angle {@code pos · invFreq[i]} for positions {@code [0, size)}, kept
 * between calls: a forward and backward of a batch would otherwise evaluate the same few
 * thousand angles once per row and call (a training step's four RoPE calls per layer on 2,048
 * rows cost more in {@code Math.sin} than in rotating). Entries are computed exactly as the
 * uncached formula would (F32 angle as transformers computes it, then double cos/sin rounded to
 * F32), so caching changes no bit.
 */
final class RopeTable {
    final float theta;
    final int half;
    /** {@code cos[pos · half + i]}. */
    final float[] cos;
    final float[] sin;
    final int size;

    private RopeTable(float theta, int half, int size) {
        this.theta = theta;
        this.half = half;
        this.size = size;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            // As transformers: exponent (2i)/dim in F32, power in F32, reciprocal in F32.
            float exponent = (float) (2 * i) / (2 * half);
            invFreq[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        cos = new float[size * half];
        sin = new float[size * half];
        for (int pos = 0; pos < size; pos++) {
            for (int i = 0; i < half; i++) {
                float angle = pos * invFreq[i];
                cos[pos * half + i] = (float) Math.cos(angle);
                sin[pos * half + i] = (float) Math.sin(angle);
            }
        }
    }

    private static volatile RopeTable latest;

    /** A table for {@code theta} and {@code half} covering position {@code maxPos}, reused when it can be. */
    static RopeTable covering(float theta, int half, int maxPos) {
        RopeTable t = latest;
        if (t != null && t.theta == theta && t.half == half && maxPos < t.size) {
            return t;
        }
        // Grow geometrically so a decode loop does not rebuild the table at every position.
        int size = Math.max(maxPos + 1, t != null && t.theta == theta && t.half == half ? 2 * t.size : 256);
        RopeTable fresh = new RopeTable(theta, half, size);
        latest = fresh;
        return fresh;
    }
}
