package org.reflectrm.model.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.model.qwen3.Qwen3Weights;
import org.reflectrm.tensor.DeviceTensors;
import org.reflectrm.tensor.Tensor;

/** Folds a LoRA adapter into its base: {@code W' = W + (alpha / rank) · B · A}, computed in F32. */
public final class LoraMerge {
    private LoraMerge() {
    }

    /**
     * The merged weights by HF name: targeted layers as new F32 tensors in {@code out} (host
     * memory the caller keeps open while it saves them), every other tensor as the base's own
     * view. Computed on {@code device}: the host, or a GPU, which holds one layer's W, A and B at
     * a time and sends the merged W back.
     */
    public static Map<String, Tensor> merge(Qwen3Weights base, LoraAdapter lora, Device device, DeviceTensors out) {
        if (!out.onHost()) {
            throw new IllegalArgumentException("the merged weights go to host memory, not " + out.device().kind());
        }
        Map<String, Tensor> merged = new LinkedHashMap<>(base.named());
        float scaling = (float) lora.config().scaling();
        for (Map.Entry<String, Tensor[]> e : lora.modules().entrySet()) {
            String name = e.getKey() + ".weight";
            Tensor w = merged.get(name);
            try (DeviceTensors work = new DeviceTensors(device)) {
                Tensor sum = work.widened(w);                                          // F32 W[out, in]
                Tensor a = work.widened(e.getValue()[0]), b = work.widened(e.getValue()[1]);   // A[r, in], B[out, r]
                Tensor scaledB = work.zeros(b.shape());
                device.scale(b.buffer(), b.offset(), scaling, scaledB.buffer(), scaledB.offset(), b.numel());
                // W[out, in] += scaledB[out, r] · A[r, in]
                device.matmul(scaledB.buffer(), scaledB.offset(), false, a.buffer(), a.offset(), DType.F32, false,
                        sum.buffer(), sum.offset(), w.dim(0), w.dim(1), a.dim(0), true);
                Tensor result = out.zeros(w.shape());
                device.download(sum.buffer(), sum.offset() * 4, result.segment().asSlice(0, 4 * result.numel()));
                merged.put(name, result);
            }
        }
        return merged;
    }
}
