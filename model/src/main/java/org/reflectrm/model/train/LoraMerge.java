package org.reflectrm.model.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.reflectrm.kernels.Backend;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.qwen3.Qwen3Weights;
import org.reflectrm.tensor.Tensor;

/** Folds a LoRA adapter into its base: {@code W' = W + (alpha / rank) · B · A}, computed in F32. */
public final class LoraMerge {
    private LoraMerge() {
    }

    /**
     * The merged weights by HF name: targeted layers as new F32 tensors (allocated from
     * {@code params}' arena through {@code scratch}), every other tensor as the base's own view.
     */
    public static Map<String, Tensor> merge(Qwen3Weights base, LoraAdapter lora, Backend backend, ParameterSet scratch) {
        Map<String, Tensor> out = new LinkedHashMap<>(base.named());
        float scaling = (float) lora.config().scaling();
        for (Map.Entry<String, Tensor[]> e : lora.modules().entrySet()) {
            String name = e.getKey() + ".weight";
            Tensor w = out.get(name);
            Tensor a = e.getValue()[0], b = e.getValue()[1];                   // A[r, in], B[out, r]
            Tensor merged = scratch.add("merged." + name, w);                   // F32 copy of W[out, in]
            Tensor scaledB = scratch.zeros("merged." + name + ".scaledB", b.dim(0), b.dim(1));
            backend.scale(b.segment(), b.offset(), scaling, scaledB.segment(), scaledB.offset(), b.numel());
            // W[out, in] += scaledB[out, r] · A[r, in]
            backend.matmul(scaledB.segment(), scaledB.offset(), false, a.segment(), a.offset(), DType.F32, false,
                    merged.segment(), merged.offset(), w.dim(0), w.dim(1), a.dim(0), true);
            out.put(name, merged.detach());
        }
        return out;
    }
}
