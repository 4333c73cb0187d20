package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

import static org.reflectrm.kernels.cpu.Lanes.L;

/**
 * Causal GQA attention against a KV cache, one task per (token, query head): scores against every
 * visible key, an F32 softmax, then the weighted sum of values. Matches transformers' eager
 * attention, which is exact attention with no approximations.
 */
final class CpuAttention {
    private final Parallel parallel;

    CpuAttention(Parallel parallel) {
        this.parallel = parallel;
    }

    void attention(MemorySegment q, long qOff, MemorySegment k, long kOff, MemorySegment v, long vOff,
                   MemorySegment out, long outOff, AttentionShape s) {
        int heads = s.heads();
        int d = s.headDim();
        int kvStride = s.kvHeads() * d;
        parallel.forEach(s.tokens() * heads, task -> {
            int t = task / heads;
            int h = task % heads;
            int g = h / s.group();
            int visible = s.startPos() + t + 1;
            long qBase = qOff + ((long) t * heads + h) * d;
            long kBase = kOff + (long) g * d;
            long vBase = vOff + (long) g * d;
            float[] scores = new float[visible];
            float max = Float.NEGATIVE_INFINITY;
            for (int p = 0; p < visible; p++) {
                float sc = CpuMatmul.dot(q, qBase, k, kBase + (long) p * kvStride, DType.F32, d) * s.scale();
                scores[p] = sc;
                max = Math.max(max, sc);
            }
            float sum = 0f;
            for (int p = 0; p < visible; p++) {
                float e = (float) Math.exp(scores[p] - max);
                scores[p] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int p = 0; p < visible; p++) {
                scores[p] *= inv;
            }
            long oBase = outOff + ((long) t * heads + h) * d;
            int bound = d - d % L;
            for (int j = 0; j < bound; j += L) {
                FloatVector acc = FloatVector.zero(Lanes.F);
                for (int p = 0; p < visible; p++) {
                    acc = Lanes.f32(v, vBase + (long) p * kvStride + j).fma(FloatVector.broadcast(Lanes.F, scores[p]), acc);
                }
                Lanes.store(acc, out, oBase + j);
            }
            for (int j = bound; j < d; j++) {
                float acc = 0f;
                for (int p = 0; p < visible; p++) {
                    acc += Lanes.getF(v, vBase + (long) p * kvStride + j) * scores[p];
                }
                Lanes.setF(out, oBase + j, acc);
            }
        });
    }
}
