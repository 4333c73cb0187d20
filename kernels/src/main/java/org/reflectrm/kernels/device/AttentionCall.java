package org.reflectrm.kernels.device;

import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;

/**
 * One sequence's part of {@link Device#attention(java.util.List)}: queries
 * {@code q[tokens, heads, headDim]} against a KV cache whose first {@code prefixLength}
 * positions are in {@code prefixK, prefixV} (0 and null for none) and the rest in {@code k, v}
 * (position {@code prefixLength} at index 0). Offsets in elements; the caches hold
 * {@code kvType}, F32 or (on the host only) BF16.
 */
public record AttentionCall(DeviceBuffer q, long qOff,
                            DeviceBuffer prefixK, long prefixKOff, DeviceBuffer prefixV, long prefixVOff,
                            int prefixLength,
                            DeviceBuffer k, long kOff, DeviceBuffer v, long vOff, DType kvType,
                            DeviceBuffer out, long outOff, AttentionShape shape) {
}
