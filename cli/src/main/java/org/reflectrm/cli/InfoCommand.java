package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.reflectrm.model.qwen3.LayerWeights;
import org.reflectrm.model.qwen3.Qwen3Config;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.model.qwen3.Qwen3Weights;
import org.reflectrm.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j info}: what a checkpoint is and what it costs to run. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Summarize a model folder: config, parameter count, dtypes, memory.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        try (Qwen3Model model = common.loadModel()) {
            Qwen3Config c = model.config();
            Qwen3Weights w = model.weights();
            Map<String, Long> paramsByDtype = new TreeMap<>();
            count(paramsByDtype, w.embedTokens());
            count(paramsByDtype, w.finalNorm());
            if (w.lmHeadStored()) {
                count(paramsByDtype, w.lmHead());
            }
            for (LayerWeights l : w.layers()) {
                for (Tensor t : Qwen3Weights.tensorsOf(l)) {
                    count(paramsByDtype, t);
                }
            }
            long params = paramsByDtype.values().stream().mapToLong(Long::longValue).sum();
            long kvBytesPerToken = 2L * c.numHiddenLayers() * c.kvDim() * 4;

            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("model", common.model.toString());
            o.put("layers", c.numHiddenLayers());
            o.put("hidden_size", c.hiddenSize());
            o.put("intermediate_size", c.intermediateSize());
            o.put("attention_heads", c.numAttentionHeads());
            o.put("kv_heads", c.numKeyValueHeads());
            o.put("head_dim", c.headDim());
            o.put("vocab_size", c.vocabSize());
            o.put("max_position_embeddings", c.maxPositionEmbeddings());
            o.put("rope_theta", c.ropeTheta());
            o.put("rms_norm_eps", c.rmsNormEps());
            o.put("tie_word_embeddings", c.tieWordEmbeddings());
            o.put("lm_head", w.lmHeadStored() ? "stored lm_head.weight" : "tied to embed_tokens");
            o.put("parameters", params);
            ObjectNode dt = o.putObject("parameters_by_dtype");
            paramsByDtype.forEach(dt::put);
            o.put("weight_bytes", w.byteSize());
            o.put("decode_bytes_per_token", w.decodeBytesPerToken());
            o.put("kv_cache_bytes_per_token", kvBytesPerToken);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(mapper.writeValueAsString(o));
            } else {
                out.printf("model            %s%n", common.model);
                out.printf("architecture     Qwen3, %d layers, hidden %d, MLP %d%n", c.numHiddenLayers(), c.hiddenSize(), c.intermediateSize());
                out.printf("attention        %d query heads, %d KV heads (group %d), head_dim %d, rope_theta %s%n",
                        c.numAttentionHeads(), c.numKeyValueHeads(), c.groupSize(), c.headDim(), fmt(c.ropeTheta()));
                out.printf("vocabulary       %d%n", c.vocabSize());
                out.printf("context          %d positions%n", c.maxPositionEmbeddings());
                out.printf("output head      %s%n", w.lmHeadStored() ? "stored lm_head.weight" : "tied to embed_tokens");
                out.printf("parameters       %,d (%s)%n", params, paramsByDtype);
                out.printf("weights          %s (memory-mapped, not on the Java heap)%n", bytes(w.byteSize()));
                out.printf("read per token   %s at decode%n", bytes(w.decodeBytesPerToken()));
                out.printf("KV cache         %s per token (F32)%n", bytes(kvBytesPerToken));
            }
            out.flush();
        }
        return 0;
    }

    private static void count(Map<String, Long> byDtype, Tensor t) {
        byDtype.merge(t.dtype().name(), t.numel(), Long::sum);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static String bytes(long b) {
        if (b >= 1L << 30) {
            return String.format("%.2f GiB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format("%.1f MiB", b / (double) (1L << 20));
        }
        return String.format("%.1f KiB", b / 1024.0);
    }
}
