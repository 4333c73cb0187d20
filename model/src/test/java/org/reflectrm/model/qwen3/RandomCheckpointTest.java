package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.TensorEntry;

class RandomCheckpointTest {

    @Test
    void shardedAndSingleFileHoldTheSameModel(@TempDir Path tmp) throws IOException {
        Qwen3Config config = Qwen3Presets.config("tiny", "bfloat16");
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        RandomCheckpoint.write(config, DType.BF16, 5, single);
        RandomCheckpoint.write(config, DType.BF16, 5, sharded, 64 << 10);
        assertTrue(Files.exists(single.resolve("model.safetensors")));
        assertFalse(Files.exists(single.resolve("model.safetensors.index.json")));
        assertTrue(Files.exists(sharded.resolve("model.safetensors.index.json")));
        try (var files = Files.list(sharded)) {
            assertTrue(files.filter(f -> f.getFileName().toString().startsWith("model-0000")).count() > 3,
                    "64 KiB shards split the tiny model into several files");
        }
        int[] prompt = {1, 2, 3, 151643, 7};
        try (CpuBackend backend = new CpuBackend(2); Qwen3Model a = Qwen3Model.load(single); Qwen3Model b = Qwen3Model.load(sharded)) {
            assertFalse(a.weights().lmHeadStored(), "the tiny preset is tied and stores no lm_head");
            assertArrayEquals(FixtureParityTest.logits(a, backend, prompt), FixtureParityTest.logits(b, backend, prompt));
        }
    }

    @Test
    void valuesHaveTheRequestedSpreadAndNormsAreOne(@TempDir Path tmp) {
        Qwen3Config config = Qwen3Presets.config("tiny", "float32");
        RandomCheckpoint.write(config, DType.F32, 9, tmp);
        try (Checkpoint c = Checkpoint.open(tmp)) {
            TensorEntry norm = c.get("model.layers.1.post_attention_layernorm.weight");
            for (long i = 0; i < norm.numel(); i++) {
                assertEquals(1.0f, norm.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            }
            TensorEntry w = c.get("model.layers.0.mlp.down_proj.weight");
            double sum = 0, sq = 0;
            for (long i = 0; i < w.numel(); i++) {
                double v = w.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                sum += v;
                sq += v * v;
            }
            double mean = sum / w.numel();
            assertEquals(0.0, mean, 0.001);
            assertEquals(config.initializerRange(), Math.sqrt(sq / w.numel() - mean * mean), 0.001);
        }
    }

    @Test
    void bf16RoundingIsNearestEven() {
        assertEquals((short) 0x3f80, org.reflectrm.kernels.Bf16.round(1.0f));
        // 1 + 2^-8 is exactly halfway between two BF16 values: ties go to the even mantissa (1.0).
        assertEquals((short) 0x3f80, org.reflectrm.kernels.Bf16.round(Float.intBitsToFloat(0x3f808000)));
        // 1 + 3·2^-8 is halfway too; the even neighbour is above.
        assertEquals((short) 0x3f82, org.reflectrm.kernels.Bf16.round(Float.intBitsToFloat(0x3f818000)));
        assertEquals((short) 0x3f81, org.reflectrm.kernels.Bf16.round(Float.intBitsToFloat(0x3f808001)));
    }
}
