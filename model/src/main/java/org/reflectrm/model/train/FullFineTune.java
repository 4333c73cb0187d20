package org.reflectrm.model.train;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.qwen3.LayerWeights;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.qwen3.Qwen3Weights;
import org.reflectrm.tensor.Tensor;

/**
 * Full fine-tuning: every weight becomes an F32 master copy that the optimizer updates in
 * place, whatever dtype the checkpoint stores. A tied output head stays tied (one parameter,
 * the embedding, receives both gradients). Each layer's q/k/v and gate/up copies lie one after
 * another in memory, so that the model generates (GRPO's rollouts) on a GPU's fused forward.
 */
public final class FullFineTune {
    private FullFineTune() {
    }

    /** Registers every weight of {@code base} in {@code params}, in checkpoint order, and returns a model over them. */
    public static Qwen3Model of(Qwen3Model base, ParameterSet params) {
        Qwen3Weights w = base.weights();
        Tensor embed = params.add(Qwen3Weights.EMBED, w.embedTokens());
        List<LayerWeights> layers = new ArrayList<>();
        for (int i = 0; i < w.layers().size(); i++) {
            LayerWeights l = w.layers().get(i);
            List<String> n = Qwen3Weights.layerTensorNames(i);   // LayerWeights order
            Tensor inputNorm = params.add(n.get(0), l.inputNorm());
            List<Tensor> qkv = params.addStacked(n.subList(1, 4), l.qProj(), l.kProj(), l.vProj());
            Tensor qNorm = params.add(n.get(4), l.qNorm());
            Tensor kNorm = params.add(n.get(5), l.kNorm());
            Tensor oProj = params.add(n.get(6), l.oProj());
            Tensor postNorm = params.add(n.get(7), l.postNorm());
            List<Tensor> gateUp = params.addStacked(n.subList(8, 10), l.gateProj(), l.upProj());
            Tensor down = params.add(n.get(10), l.downProj());
            layers.add(new LayerWeights(inputNorm, qkv.get(0), qkv.get(1), qkv.get(2), qNorm, kNorm, oProj, postNorm,
                    gateUp.get(0), gateUp.get(1), down));
        }
        Tensor norm = params.add(Qwen3Weights.FINAL_NORM, w.finalNorm());
        Tensor head = w.lmHeadStored() ? params.add(Qwen3Weights.LM_HEAD, w.lmHead()) : embed;
        return base.with(new Qwen3Weights(embed, List.copyOf(layers), norm, head, w.lmHeadStored()), null);
    }
}
