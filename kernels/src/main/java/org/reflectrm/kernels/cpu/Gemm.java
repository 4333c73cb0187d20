package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import org.reflectrm.kernels.DType;

/**
 * One matrix product as {@link org.reflectrm.kernels.Backend#matmul} describes it, bundled so the
 * kernels can pass it around whole: {@code C[m,n] (+)= op(A)[m,k] · op(B)[k,n]}.
 */
record Gemm(MemorySegment a, long aOff, boolean transA,
            MemorySegment b, long bOff, DType bType, boolean transB,
            MemorySegment c, long cOff, int m, int n, int k, boolean accumulate) {

    /** Element index of op(A)[i, p]. */
    long aIndex(int i, int p) {
        return transA ? aOff + (long) p * m + i : aOff + (long) i * k + p;
    }

    /** Element index of op(B)[p, j]. */
    long bIndex(int p, int j) {
        return transB ? bOff + (long) j * k + p : bOff + (long) p * n + j;
    }

    /** Element index of C[i, j]. */
    long cIndex(int i, int j) {
        return cOff + (long) i * n + j;
    }
}
