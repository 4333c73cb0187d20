package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.reflectrm.kernels.DType;

import static org.reflectrm.kernels.cpu.Lanes.L;

/**
 * Row-wise and element-wise kernels: embedding, RMSNorm, RoPE (and its inverse, for the backward),
 * SwiGLU, add, scale, softmax.
 */
final class CpuElementwise {
    private final Parallel parallel;

    CpuElementwise(Parallel parallel) {
        this.parallel = parallel;
    }

    void embedding(MemorySegment table, long tableOff, DType type, int dim, int[] ids, MemorySegment out, long outOff) {
        Lanes.requireCompute(type);
        for (int r = 0; r < ids.length; r++) {
            Lanes.widen(type, table, tableOff + (long) ids[r] * dim, out, outOff + (long) r * dim, dim);
        }
    }

    void rmsNorm(MemorySegment x, long xOff, MemorySegment w, long wOff, DType wType,
                 MemorySegment y, long yOff, int rows, int dim, float eps) {
        Lanes.requireCompute(wType);
        // The weight is widened once, so the row loop below is F32 only.
        float[] weight = new float[dim];
        Lanes.widen(wType, w, wOff, weight, dim);
        parallel.rows(rows, dim, r -> rmsNormRow(x, xOff + (long) r * dim, weight, y, yOff + (long) r * dim, dim, eps));
    }

    private static void rmsNormRow(MemorySegment x, long xr, float[] w, MemorySegment y, long yr, int dim, float eps) {
        int bound = dim - dim % L;
        FloatVector acc = FloatVector.zero(Lanes.F);
        int j = 0;
        for (; j < bound; j += L) {
            FloatVector v = Lanes.f32(x, xr + j);
            acc = v.fma(v, acc);
        }
        float ss = Lanes.sum(acc);
        for (; j < dim; j++) {
            float v = Lanes.getF(x, xr + j);
            ss += v * v;
        }
        // transformers: x * rsqrt(mean(x^2) + eps), then times the weight, all in F32.
        float inv = (float) (1.0 / Math.sqrt(ss / dim + eps));
        for (j = 0; j < bound; j += L) {
            FloatVector v = Lanes.f32(x, xr + j).mul(inv);
            Lanes.store(v.mul(FloatVector.fromArray(Lanes.F, w, j)), y, yr + j);
        }
        for (; j < dim; j++) {
            Lanes.setF(y, yr + j, (Lanes.getF(x, xr + j) * inv) * w[j]);
        }
    }

    void rope(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta) {
        rotate(x, xOff, rows, heads, headDim, positions, theta, false);
    }

    /**
     * Rotation by the negative angles of {@link #rope}: the same cos, and sin negated (which is
     * exact), so the angles are bit-for-bit those of the forward. Being the transpose of the
     * forward rotation, it maps the gradient of RoPE's output to the gradient of its input.
     */
    void ropeInverse(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta) {
        rotate(x, xOff, rows, heads, headDim, positions, theta, true);
    }

    private void rotate(MemorySegment x, long xOff, int rows, int heads, int headDim, int[] positions, float theta,
                        boolean inverse) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head_dim, got " + headDim);
        }
        int half = headDim / 2;
        int maxPos = 0;
        for (int p : positions) {
            if (p < 0) {
                throw new IllegalArgumentException("negative RoPE position " + p);
            }
            maxPos = Math.max(maxPos, p);
        }
        RopeTable table = RopeTable.covering(theta, half, maxPos);
        // x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin; the inverse negates sin (exactly).
        float sign = inverse ? -1f : 1f;
        parallel.rows(rows, heads * headDim, r -> {
            int at = positions[r] * half;
            for (int h = 0; h < heads; h++) {
                long base = xOff + ((long) r * heads + h) * headDim;
                int i = 0;
                for (int bound = half - half % L; i < bound; i += L) {
                    FloatVector c = FloatVector.fromArray(Lanes.F, table.cos, at + i);
                    FloatVector sn = FloatVector.fromArray(Lanes.F, table.sin, at + i).mul(sign);
                    FloatVector x1 = Lanes.f32(x, base + i);
                    FloatVector x2 = Lanes.f32(x, base + i + half);
                    Lanes.store(x1.mul(c).sub(x2.mul(sn)), x, base + i);
                    Lanes.store(x2.mul(c).add(x1.mul(sn)), x, base + i + half);
                }
                for (; i < half; i++) {
                    float c = table.cos[at + i];
                    float sn = sign * table.sin[at + i];
                    float x1 = Lanes.getF(x, base + i);
                    float x2 = Lanes.getF(x, base + i + half);
                    Lanes.setF(x, base + i, x1 * c - x2 * sn);
                    Lanes.setF(x, base + i + half, x2 * c + x1 * sn);
                }
            }
        });
    }

    void swiglu(MemorySegment gate, long gOff, MemorySegment up, long uOff, MemorySegment out, long oOff, long n) {
        parallel.chunks(n, L, (from, to) -> {
            long j = from;
            long bound = from + (to - from) / L * L;
            for (; j < bound; j += L) {
                FloatVector g = Lanes.f32(gate, gOff + j);
                FloatVector silu = g.div(Lanes.exp(g.neg()).add(1f));
                Lanes.store(silu.mul(Lanes.f32(up, uOff + j)), out, oOff + j);
            }
            for (; j < to; j++) {
                float g = Lanes.getF(gate, gOff + j);
                Lanes.setF(out, oOff + j, (float) (g / (1.0 + Math.exp(-g))) * Lanes.getF(up, uOff + j));
            }
        });
    }

    void add(MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out, long oOff, long n) {
        parallel.chunks(n, L, (from, to) -> {
            long j = from;
            long bound = from + (to - from) / L * L;
            for (; j < bound; j += L) {
                Lanes.store(Lanes.f32(a, aOff + j).add(Lanes.f32(b, bOff + j)), out, oOff + j);
            }
            for (; j < to; j++) {
                Lanes.setF(out, oOff + j, Lanes.getF(a, aOff + j) + Lanes.getF(b, bOff + j));
            }
        });
    }

    void scale(MemorySegment a, long aOff, float s, MemorySegment out, long oOff, long n) {
        parallel.chunks(n, L, (from, to) -> {
            long j = from;
            long bound = from + (to - from) / L * L;
            for (; j < bound; j += L) {
                Lanes.store(Lanes.f32(a, aOff + j).mul(s), out, oOff + j);
            }
            for (; j < to; j++) {
                Lanes.setF(out, oOff + j, Lanes.getF(a, aOff + j) * s);
            }
        });
    }

    /** F32 to BF16 bits, element by element ({@link org.reflectrm.kernels.Bf16#round}). */
    void toBf16(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long n) {
        parallel.chunks(n, 1, (from, to) -> {
            for (long j = from; j < to; j++) {
                dst.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2 * (dstOff + j),
                        org.reflectrm.kernels.Bf16.round(Lanes.getF(src, srcOff + j)));
            }
        });
    }

    void softmax(MemorySegment x, long xOff, int rows, int cols) {
        parallel.rows(rows, cols, r -> softmaxRow(x, xOff + (long) r * cols, cols));
    }

    /** Numerically stable softmax of one row in place: max, exp(x - max) and its sum, scale. */
    static void softmaxRow(MemorySegment x, long off, int cols) {
        int bound = cols - cols % L;
        FloatVector mv = FloatVector.broadcast(Lanes.F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < bound; j += L) {
            mv = mv.max(Lanes.f32(x, off + j));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (int j = bound; j < cols; j++) {
            max = Math.max(max, Lanes.getF(x, off + j));
        }
        FloatVector sv = FloatVector.zero(Lanes.F);
        for (int j = 0; j < bound; j += L) {
            FloatVector e = Lanes.exp(Lanes.f32(x, off + j).sub(max));
            Lanes.store(e, x, off + j);
            sv = sv.add(e);
        }
        float sum = Lanes.sum(sv);
        for (int j = bound; j < cols; j++) {
            float e = (float) Math.exp(Lanes.getF(x, off + j) - max);
            Lanes.setF(x, off + j, e);
            sum += e;
        }
        float inv = 1f / sum;
        for (int j = 0; j < bound; j += L) {
            Lanes.store(Lanes.f32(x, off + j).mul(inv), x, off + j);
        }
        for (int j = bound; j < cols; j++) {
            Lanes.setF(x, off + j, Lanes.getF(x, off + j) * inv);
        }
    }
}
