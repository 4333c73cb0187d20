package org.reflectrm.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.KvCache;
import org.reflectrm.model.qwen3.Qwen3Model;
import org.reflectrm.tensor.Ops;
import org.reflectrm.tensor.ScratchAllocator;
import org.reflectrm.tensor.Tensor;

/** PEFT adapter files and merging, against the peft fixture (make_grad_fixtures.py). */
class LoraFilesTest {
    static final Path ADAPTER = GradientParityTest.FIXTURES.resolve("grad/lora-tiny");
    static final Path BASE = GradientParityTest.FIXTURES.resolve("tiny-f32-untied");

    private static float[] logits(Qwen3Model model, CpuBackend backend, int[] ids) {
        try (ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 20);
             KvCache cache = new KvCache(model.config(), backend, ids.length)) {
            return model.forward(new Ops(scratch), List.of(ids), List.of(cache), true).toFloatArray();
        }
    }

    @Test
    void mergedModelMatchesPeftMergeAndUnload(@TempDir Path tmp) throws IOException {
        JsonNode c = GradientParityTest.json("lora.json");
        int[] ids = GradientParityTest.sequences(c).get(0);
        JsonNode want = c.get("merged_logits_first_row");
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model base = Qwen3Model.load(BASE);
             ParameterSet params = new ParameterSet(backend);
             org.reflectrm.tensor.DeviceTensors out = new org.reflectrm.tensor.DeviceTensors(
                     new org.reflectrm.kernels.device.HostDevice(backend))) {
            LoraAdapter lora = LoraAdapter.load(ADAPTER, base.config(), params);
            Map<String, Tensor> merged = LoraMerge.merge(base.weights(), lora, out.device(), out);
            ModelFiles.save(tmp.resolve("merged"), BASE, merged, DType.F32);
            // The unmerged adapter and the saved merged model give the same logits as peft's merge.
            for (Qwen3Model m : new Qwen3Model[] {base.with(base.weights(), lora), Qwen3Model.load(tmp.resolve("merged"))}) {
                float[] got = logits(m, backend, ids);
                int vocab = m.config().vocabSize();
                for (int p = 0; p < want.size(); p++) {
                    for (int v = 0; v < vocab; v++) {
                        assertEquals(want.get(p).get(v).asDouble(), got[p * vocab + v], 1e-4, "position " + p + " token " + v);
                    }
                }
            }
        }
    }

    @Test
    void writtenAdapterReadsBackIdentically(@TempDir Path tmp) throws IOException {
        try (CpuBackend backend = new CpuBackend(1); Qwen3Model base = Qwen3Model.load(BASE);
             ParameterSet a = new ParameterSet(backend); ParameterSet b = new ParameterSet(backend)) {
            LoraAdapter original = LoraAdapter.load(ADAPTER, base.config(), a);
            PeftAdapterFiles.write(tmp, original, "../tiny-f32-untied");
            LoraAdapter reread = LoraAdapter.load(tmp, base.config(), b);
            assertEquals(original.config(), reread.config());
            assertEquals(a.all().keySet(), b.all().keySet());
            for (String name : a.all().keySet()) {
                assertArrayEquals(a.get(name).toFloatArray(), b.get(name).toFloatArray(), name);
            }
            JsonNode config = new com.fasterxml.jackson.databind.ObjectMapper().readTree(tmp.resolve(PeftAdapterFiles.CONFIG).toFile());
            assertEquals("LORA", config.get("peft_type").asText());
            assertEquals(4, config.get("r").asInt());
        }
    }

    @Test
    void badAdaptersAreRejectedWithTheirProblem(@TempDir Path tmp) throws IOException {
        try (CpuBackend backend = new CpuBackend(1); Qwen3Model base = Qwen3Model.load(BASE);
             ParameterSet params = new ParameterSet(backend)) {
            BadInputException missing = assertThrows(BadInputException.class, () -> LoraAdapter.load(tmp, base.config(), params));
            assertTrue(missing.getMessage().contains("adapter_config.json"), missing.getMessage());

            Files.copy(ADAPTER.resolve(PeftAdapterFiles.WEIGHTS), tmp.resolve(PeftAdapterFiles.WEIGHTS));
            String config = Files.readString(ADAPTER.resolve(PeftAdapterFiles.CONFIG));
            Files.writeString(tmp.resolve(PeftAdapterFiles.CONFIG), config.replace("\"r\": 4", "\"r\": 8"));
            BadInputException shape = assertThrows(BadInputException.class, () -> LoraAdapter.load(tmp, base.config(), params));
            assertTrue(shape.getMessage().contains("has shape [4, 64]"), shape.getMessage());

            Files.writeString(tmp.resolve(PeftAdapterFiles.CONFIG), config.replace("\"use_dora\": false", "\"use_dora\": true"));
            BadInputException dora = assertThrows(BadInputException.class, () -> LoraAdapter.load(tmp, base.config(), params));
            assertTrue(dora.getMessage().contains("use_dora"), dora.getMessage());
        }
    }
}
