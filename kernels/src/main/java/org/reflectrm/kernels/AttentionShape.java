package org.reflectrm.kernels;

/**
 * The shape of one causal attention call: {@code tokens} new queries starting at absolute
 * position {@code startPos}, over a cache of {@code heads/kvHeads} grouped heads.
 */
public record AttentionShape(int tokens, int startPos, int heads, int kvHeads, int headDim, float scale) {
    public AttentionShape {
        if (tokens < 0 || startPos < 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("bad attention shape " + this);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " not a multiple of kvHeads " + kvHeads);
        }
    }

    /** Query heads that share one KV head. */
    public int group() {
        return heads / kvHeads;
    }
}
