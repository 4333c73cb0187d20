package org.reflectrm.kernels;

import java.lang.foreign.MemorySegment;

/**
 * One sequence's part of a batched attention call ({@link Backend#attention(java.util.List)}):
 * its queries {@code q[tokens, heads, headDim]} against a KV cache whose first
 * {@code prefixLength} positions are in {@code prefixK, prefixV} (shared with other sequences;
 * length 0 for none, the segments then unused) and the rest in {@code k, v}, which hold position
 * {@code prefixLength} at index 0. Offsets are in elements of each buffer's type: the caches hold
 * {@code kvType} (F32, or BF16 for a half-size cache), the queries and {@code out} F32.
 */
public record CacheAttention(MemorySegment q, long qOff,
                             MemorySegment prefixK, long prefixKOff, MemorySegment prefixV, long prefixVOff,
                             int prefixLength,
                             MemorySegment k, long kOff, MemorySegment v, long vOff, DType kvType,
                             MemorySegment out, long outOff, AttentionShape shape) {
    public CacheAttention {
        if (kvType != DType.F32 && kvType != DType.BF16) {
            throw new IllegalArgumentException("a KV cache holds F32 or BF16, not " + kvType);
        }
        if (shape.startPos() < prefixLength) {
            throw new IllegalArgumentException("queries start at position " + shape.startPos()
                    + " inside the shared prefix of " + prefixLength);
        }
    }
}
