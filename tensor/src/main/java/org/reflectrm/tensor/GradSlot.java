package org.reflectrm.tensor;

/**
 * The gradient bookkeeping shared by a tensor and every view of it. A view's gradient is the
 * matching range of its base's gradient, so {@code rows} and {@code reshape} need no backward
 * of their own: writing into a view's gradient writes into the base's.
 */
final class GradSlot {
    /** Element offset of the base tensor in its segment; views are located relative to it. */
    final long baseOffset;
    final long numel;
    /** A parameter's slot: its gradient buffer is given and outlives every tape. */
    final boolean leaf;
    /** The base's gradient, F32 and flat; allocated (zeroed) on first use for non-leaves. */
    Tensor grad;

    GradSlot(long baseOffset, long numel, boolean leaf, Tensor grad) {
        this.baseOffset = baseOffset;
        this.numel = numel;
        this.leaf = leaf;
        this.grad = grad;
    }
}
