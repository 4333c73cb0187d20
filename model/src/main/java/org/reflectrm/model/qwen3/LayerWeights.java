package org.reflectrm.model.qwen3;

import org.reflectrm.tensor.Tensor;

/** The eleven tensors of one Qwen3 decoder layer, in their stored dtypes. */
public record LayerWeights(
        Tensor inputNorm,      // [H]
        Tensor qProj,          // [NH*D, H]
        Tensor kProj,          // [NKV*D, H]
        Tensor vProj,          // [NKV*D, H]
        Tensor qNorm,          // [D]
        Tensor kNorm,          // [D]
        Tensor oProj,          // [H, NH*D]
        Tensor postNorm,       // [H]
        Tensor gateProj,       // [I, H]
        Tensor upProj,         // [I, H]
        Tensor downProj) {     // [H, I]
}
