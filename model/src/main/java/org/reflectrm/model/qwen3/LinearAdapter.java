package org.reflectrm.model.qwen3;

import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.Tensor;

/**
 * A trainable addition to the model's linear layers (LoRA): for the module named by its HF path
 * (e.g. {@code model.layers.3.self_attn.q_proj}) it returns a term added to the frozen layer's
 * output, or null for modules it does not touch.
 */
public interface LinearAdapter {
    Tensor delta(Ops ops, String module, Tensor x);
}
