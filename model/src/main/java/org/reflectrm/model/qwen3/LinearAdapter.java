package org.reflectrm.model.qwen3;

import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * A trainable change to the model's linear layers (LoRA). For the layer named by its HF module
 * path (e.g. {@code model.layers.3.self_attn.q_proj}) with frozen weight {@code w} it computes
 * the adapted output for input {@code x}, or returns null for layers it does not touch.
 */
public interface LinearAdapter {
    Tensor linear(Ops ops, String module, Tensor x, Tensor w);
}
