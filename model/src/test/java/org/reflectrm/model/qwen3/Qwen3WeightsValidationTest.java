package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.SafetensorsException;
import org.reflectrm.model.safetensors.SafetensorsWriter;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.tensor.Tensor;

/**
 * Loading a checkpoint against its config: each way a checkpoint can disagree with config.json is
 * reported by name, and the output head is chosen as transformers chooses it.
 */
class Qwen3WeightsValidationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            return Path.of(Qwen3WeightsValidationTest.class.getResource("/fixtures/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies a fixture's files (not expected.json) into a fresh folder under the temp dir. */
    private Path copy(String name) throws IOException {
        Path dir = Files.createTempDirectory(tmp, name);
        try (Stream<Path> files = Files.list(fixture(name))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("expected.json")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        return dir;
    }

    /** Rewrites the single-file checkpoint of {@code dir} with its tensor list edited. */
    private static void editTensors(Path dir, Consumer<List<TensorSource>> edit) throws IOException {
        Path file = dir.resolve(Checkpoint.SINGLE_FILE);
        // Read from an untouched copy, so the mapping is not the file being replaced.
        Path original = Files.copy(file, dir.resolveSibling(dir.getFileName() + "-orig.safetensors"));
        try (Checkpoint c = Checkpoint.open(original)) {
            List<TensorSource> tensors = new ArrayList<>();
            c.tensors().values().forEach(e -> tensors.add(TensorSource.of(e)));
            edit.accept(tensors);
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
        }
    }

    private static void editConfig(Path dir, Consumer<ObjectNode> edit) throws IOException {
        Path file = dir.resolve("config.json");
        ObjectNode j = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(j);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(j));
    }

    private static TensorSource find(List<TensorSource> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    private static void replace(List<TensorSource> tensors, TensorSource replacement) {
        tensors.replaceAll(t -> t.name().equals(replacement.name()) ? replacement : t);
    }

    private static String assertRejected(Path dir, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> Qwen3Model.load(dir).close());
        String m = e.getMessage();
        for (String f : fragments) {
            assertTrue(m.contains(f), () -> "message lacks '" + f + "': " + m);
        }
        return m;
    }

    @Test
    void unmodifiedCopyLoads() throws IOException {
        Path dir = copy("tiny-f32-untied");
        editTensors(dir, t -> { });
        try (Qwen3Model m = Qwen3Model.load(dir)) {
            assertEquals(2, m.weights().layers().size());
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path dir = copy("tiny-f32-untied");
        String name = "model.layers.1.mlp.up_proj.weight";
        editTensors(dir, t -> t.removeIf(s -> s.name().equals(name)));
        assertRejected(dir, dir.toString(), "'" + name + "'", "missing");
    }

    @Test
    void missingEmbeddingIsNamed() throws IOException {
        Path dir = copy("tiny-bf16-tied");
        editTensors(dir, t -> t.removeIf(s -> s.name().equals(Qwen3Weights.EMBED)));
        assertRejected(dir, Qwen3Weights.EMBED, "missing");
    }

    @Test
    void wrongShapeNamesTensorAndBothShapes() throws IOException {
        Path dir = copy("tiny-f32-untied");
        String name = "model.layers.0.self_attn.k_proj.weight"; // [kv 2 x 32, hidden 64]
        editTensors(dir, t -> {
            TensorSource k = find(t, name);
            assertEquals(List.of(64L, 64L), List.of(k.shape()[0], k.shape()[1]));
            replace(t, new TensorSource(name, DType.F32, new long[] {32, 64}, k.data().asSlice(0, 32L * 64 * 4)));
        });
        assertRejected(dir, dir.resolve("model.safetensors").toString(), "'" + name + "'", "[32, 64]", "[64, 64]");
    }

    @Test
    void sameSizeButTransposedShapeIsRejected() throws IOException {
        Path dir = copy("tiny-f32-untied");
        String name = "model.layers.1.mlp.down_proj.weight"; // [64, 96]
        editTensors(dir, t -> replace(t, new TensorSource(name, DType.F32, new long[] {96, 64}, find(t, name).data())));
        assertRejected(dir, name, "[96, 64]", "[64, 96]");
    }

    @Test
    void wrongRankIsRejected() throws IOException {
        Path dir = copy("tiny-f32-untied");
        editTensors(dir, t -> replace(t, new TensorSource(Qwen3Weights.FINAL_NORM, DType.F32, new long[] {1, 64},
                find(t, Qwen3Weights.FINAL_NORM).data())));
        assertRejected(dir, Qwen3Weights.FINAL_NORM, "[1, 64]", "[64]");
    }

    @Test
    void configWithOneLayerLessNamesTheLeftoverLayer() throws IOException {
        Path dir = copy("tiny-f32-untied");
        editConfig(dir, j -> {
            j.put("num_hidden_layers", 1);
            j.put("max_window_layers", 1);
            ((ArrayNode) j.get("layer_types")).remove(1);
        });
        String m = assertRejected(dir, dir.toString(), "unexpected", "model.layers.1.");
        assertTrue(m.contains("11"), "all 11 tensors of layer 1 are unexpected: " + m);
    }

    @Test
    void extraTensorIsNamed() throws IOException {
        Path dir = copy("tiny-bf16-tied");
        String bias = "model.layers.0.self_attn.q_proj.bias";
        editTensors(dir, t -> t.add(new TensorSource(bias, DType.BF16, new long[] {64},
                MemorySegment.ofArray(new byte[128]))));
        assertRejected(dir, "unexpected", bias);
    }

    @Test
    void rotaryInvFreqIsTolerated() throws IOException {
        Path dir = copy("tiny-bf16-tied");
        editTensors(dir, t -> t.add(new TensorSource("model.layers.0.self_attn.rotary_emb.inv_freq", DType.F32,
                new long[] {8}, MemorySegment.ofArray(new byte[32]))));
        try (Qwen3Model m = Qwen3Model.load(dir)) {
            assertEquals(2, m.weights().layers().size());
        }
    }

    @Test
    void integerWeightIsRejected() throws IOException {
        Path dir = copy("tiny-f32-untied");
        String name = "model.layers.0.input_layernorm.weight";
        editTensors(dir, t -> replace(t, new TensorSource(name, DType.I64, new long[] {64},
                MemorySegment.ofArray(new byte[64 * 8]))));
        assertRejected(dir, dir.resolve("model.safetensors").toString(), "'" + name + "'", "I64");
    }

    @Test
    void untiedConfigWithoutLmHeadIsRejected() throws IOException {
        Path dir = copy("tiny-bf16-tied");
        editConfig(dir, j -> j.put("tie_word_embeddings", false));
        assertRejected(dir, dir.toString(), Qwen3Weights.LM_HEAD, "tie_word_embeddings");
    }

    @Test
    void lmHeadWithWrongShapeIsRejected() throws IOException {
        Path dir = copy("tiny-bf16-tied-lmhead");
        editTensors(dir, t -> replace(t, new TensorSource(Qwen3Weights.LM_HEAD, DType.BF16, new long[] {447, 64},
                find(t, Qwen3Weights.LM_HEAD).data().asSlice(0, 447L * 64 * 2))));
        assertRejected(dir, Qwen3Weights.LM_HEAD, "[447, 64]", "[448, 64]");
    }

    @Test
    void truncatedFileIsNamed() throws IOException {
        Path dir = copy("tiny-f32-untied");
        Path file = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() - 1000);
        }
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Qwen3Model.load(dir).close());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedShardIsNamed() throws IOException {
        Path dir = copy("tiny-f16-sharded");
        Path shard = dir.resolve("model-00002-of-00003.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Qwen3Model.load(dir).close());
        assertTrue(e.getMessage().contains(shard.toString()), e.getMessage());
    }

    @Test
    void noWeightsAtAllIsNamed() throws IOException {
        Path dir = copy("tiny-f32-untied");
        Files.delete(dir.resolve("model.safetensors"));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Qwen3Model.load(dir).close());
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("model.safetensors"),
                e.getMessage());
    }

    @Test
    void tiedCheckpointWithoutLmHeadUsesTheEmbedding() {
        try (Qwen3Model m = Qwen3Model.load(fixture("tiny-bf16-tied"))) {
            Qwen3Weights w = m.weights();
            assertFalse(w.lmHeadStored());
            assertSame(w.embedTokens(), w.lmHead());
            long layerBytes = w.layers().stream().flatMap(l -> Qwen3Weights.tensorsOf(l).stream())
                    .mapToLong(t -> t.numel() * t.dtype().byteSize()).sum();
            long embedBytes = 500L * 64 * 2;
            assertEquals(layerBytes + embedBytes + 64 * 2, w.byteSize(), "tied head counted once");
            assertEquals(layerBytes + embedBytes + 64 * 2, w.decodeBytesPerToken(), "the head is read every step");
        }
    }

    @Test
    void tiedConfigWithStoredLmHeadUsesTheStoredHead() {
        Path dir = fixture("tiny-bf16-tied-lmhead");
        try (Qwen3Model m = Qwen3Model.load(dir); Checkpoint c = Checkpoint.open(dir)) {
            assertTrue(m.config().tieWordEmbeddings());
            Qwen3Weights w = m.weights();
            assertTrue(w.lmHeadStored());
            assertNotSame(w.embedTokens(), w.lmHead());
            assertSegmentEquals(c.get(Qwen3Weights.LM_HEAD), w.lmHead());
            assertSegmentEquals(c.get(Qwen3Weights.EMBED), w.embedTokens());
            assertTrue(c.get(Qwen3Weights.LM_HEAD).data().mismatch(c.get(Qwen3Weights.EMBED).data()) >= 0,
                    "fixture: the stored head differs from the embedding");
            assertEquals(c.totalBytes(), w.byteSize());
        }
    }

    @Test
    void untiedCheckpointUsesItsHead() {
        Path dir = fixture("tiny-f16-sharded");
        try (Qwen3Model m = Qwen3Model.load(dir); Checkpoint c = Checkpoint.open(dir)) {
            Qwen3Weights w = m.weights();
            assertTrue(w.lmHeadStored());
            assertSegmentEquals(c.get(Qwen3Weights.LM_HEAD), w.lmHead());
            assertEquals(3, w.layers().size());
            assertEquals(c.totalBytes(), w.byteSize());
            for (int i = 0; i < 3; i++) {
                List<String> names = Qwen3Weights.layerTensorNames(i);
                List<Tensor> tensors = Qwen3Weights.tensorsOf(w.layers().get(i));
                for (int j = 0; j < names.size(); j++) {
                    assertSegmentEquals(c.get(names.get(j)), tensors.get(j));
                }
            }
        }
    }

    private static void assertSegmentEquals(TensorEntry stored, Tensor bound) {
        assertEquals(stored.dtype(), bound.dtype(), stored.name());
        long bytes = bound.numel() * bound.dtype().byteSize();
        assertEquals(stored.byteSize(), bytes, stored.name());
        MemorySegment view = bound.segment().asSlice(bound.offset() * bound.dtype().byteSize(), bytes);
        assertEquals(-1, view.mismatch(stored.data()), stored.name() + " is bound to its own bytes");
    }
}
