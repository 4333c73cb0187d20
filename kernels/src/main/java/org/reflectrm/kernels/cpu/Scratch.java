package org.reflectrm.kernels.cpu;

/**
 * Per-thread float arrays, grown on demand and kept, so kernels that need work space per call or
 * per task do not allocate each time. Each instance is a separate set of arrays: a kernel uses one
 * for the calling thread's per-call buffers and another for per-task buffers, since the calling
 * thread also runs tasks.
 */
final class Scratch {
    private final int count;
    private final ThreadLocal<float[][]> arrays;

    Scratch(int count) {
        this.count = count;
        this.arrays = ThreadLocal.withInitial(() -> new float[this.count][]);
    }

    /** This thread's array {@code which}, at least {@code size} long; contents are left over. */
    float[] get(int which, int size) {
        float[][] mine = arrays.get();
        if (mine[which] == null || mine[which].length < size) {
            mine[which] = new float[Math.max(size, 1024)];
        }
        return mine[which];
    }
}
