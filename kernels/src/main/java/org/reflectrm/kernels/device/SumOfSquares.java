package org.reflectrm.kernels.device;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The two fixed summation orders of {@link Device#sumOfSquares}. The host adds every square in
 * double, element by element ({@link #inOrder}). A GPU cuts the elements into blocks of
 * {@link #BLOCK}; each block's squares are summed in F32 by one work-group in one fixed order
 * (work-item t adds elements t, t + 256, ... of its block in turn, then the 256 sums are added
 * pairwise by halving strides), and the host adds the block sums in double in block order
 * ({@link #addBlockSums}). So a GPU downloads n / 4096 floats, never the vector itself, and its
 * result does not depend on scheduling; the OpenCL and CUDA kernels do the same operations.
 */
public final class SumOfSquares {
    /** Elements per block sum on a GPU: 256 work-items of 16 elements each. */
    public static final int BLOCK = 4096;
    /** Work-items per block (the kernels' work-group size). */
    public static final int GROUP = 256;

    private SumOfSquares() {
    }

    /**
     * How many block sums a GPU writes for each of several vectors, after checking that there are
     * as many offsets and lengths as vectors and that no length is negative.
     */
    public static long[] blocks(List<DeviceBuffer> xs, long[] offs, long[] ns) {
        if (offs.length != xs.size() || ns.length != xs.size()) {
            throw new IllegalArgumentException(xs.size() + " vectors but " + offs.length + " offsets and " + ns.length
                    + " lengths");
        }
        long[] blocks = new long[ns.length];
        for (int i = 0; i < ns.length; i++) {
            if (ns[i] < 0) {
                throw new IllegalArgumentException("vector " + i + " has a negative length " + ns[i]);
            }
            blocks[i] = blocks(ns[i]);
        }
        return blocks;
    }

    /** How many block sums a GPU writes for n elements. */
    public static long blocks(long n) {
        return (n + BLOCK - 1) / BLOCK;
    }

    /** Every square added in double, in element order: the host's sum. */
    public static double inOrder(MemorySegment x, long off, long n) {
        double sum = 0;
        for (long i = 0; i < n; i++) {
            double v = x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, off + i);
            sum += v * v;
        }
        return sum;
    }

    /**
     * Downloads the block sums of several vectors, laid out one vector after the other at the start
     * of {@code partials} ({@code blocks[i]} of them for vector i), in one transfer, and adds each
     * vector's in double, in order: per vector the same sum as {@link #addBlockSums(Device, DeviceBuffer, long)}.
     */
    public static double[] addBlockSums(Device device, DeviceBuffer partials, long[] blocks) {
        long total = 0;
        for (long b : blocks) {
            total += b;
        }
        double[] out = new double[blocks.length];
        if (total == 0) {
            return out;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * total, 64);
            device.download(partials, 0, host);
            long at = 0;
            for (int i = 0; i < blocks.length; i++) {
                double sum = 0;
                for (long b = 0; b < blocks[i]; b++, at++) {
                    sum += host.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
                }
                out[i] = sum;
            }
            return out;
        }
    }

    /** Downloads the {@code blocks} F32 block sums at the start of {@code partials} and adds them in double, in order. */
    public static double addBlockSums(Device device, DeviceBuffer partials, long blocks) {
        return addBlockSums(device, partials, new long[] {blocks})[0];
    }
}
