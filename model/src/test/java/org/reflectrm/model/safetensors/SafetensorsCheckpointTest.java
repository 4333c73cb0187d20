package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.assertMessage;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.counting;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;

class SafetensorsCheckpointTest {

    private static final String SHARD1 = "model-00001-of-00003.safetensors";
    private static final String SHARD2 = "model-00002-of-00003.safetensors";
    private static final String SHARD3 = "model-00003-of-00003.safetensors";

    @TempDir
    Path dir;

    /** Six 64-byte tensors; with a 150-byte limit they fill three shards of two. */
    private static List<TensorSource> six() {
        List<TensorSource> t = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            t.add(new TensorSource("layer." + i + ".w", i % 2 == 0 ? DType.F32 : DType.BF16,
                    new long[] {4, i % 2 == 0 ? 4 : 8}, counting(64, 10 * i)));
        }
        return t;
    }

    private Path sharded() throws IOException {
        SafetensorsWriter.writeSharded(dir, six(), Map.of("format", "pt"), 150);
        return dir.resolve(Checkpoint.INDEX_FILE);
    }

    private Path index() {
        return dir.resolve(Checkpoint.INDEX_FILE);
    }

    private void index(String json) throws IOException {
        Files.writeString(index(), json);
    }

    private static String weightMap(String... pairs) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < pairs.length; i += 2) {
            b.append(i == 0 ? "" : ",").append('"').append(pairs[i]).append("\":\"").append(pairs[i + 1]).append('"');
        }
        return b.append('}').toString();
    }

    private static String sixMap() {
        return weightMap("layer.0.w", SHARD1, "layer.1.w", SHARD1, "layer.2.w", SHARD2, "layer.3.w", SHARD2,
                "layer.4.w", SHARD3, "layer.5.w", SHARD3);
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void shardedRoundTrip() throws IOException {
        sharded();
        assertEquals(List.of(SHARD1, SHARD2, SHARD3, Checkpoint.INDEX_FILE), files());
        assertEquals("""
                {
                  "metadata": {
                    "total_size": 384
                  },
                  "weight_map": {
                    "layer.0.w": "model-00001-of-00003.safetensors",
                    "layer.1.w": "model-00001-of-00003.safetensors",
                    "layer.2.w": "model-00002-of-00003.safetensors",
                    "layer.3.w": "model-00002-of-00003.safetensors",
                    "layer.4.w": "model-00003-of-00003.safetensors",
                    "layer.5.w": "model-00003-of-00003.safetensors"
                  }
                }
                """, Files.readString(index()));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(384, c.totalBytes());
            assertEquals(3, c.files().size());
            assertEquals(6, c.names().size());
            for (TensorSource t : six()) {
                TensorEntry e = c.get(t.name());
                assertEquals(t.dtype(), e.dtype());
                assertArrayEquals(t.shape(), e.shape());
                assertEquals(-1, e.data().mismatch(t.data()), t.name());
            }
            assertEquals(Map.of("format", "pt"), c.files().get(1).metadata());
            assertTrue(c.get("layer.2.w").file().endsWith(SHARD2));
            assertFalse(c.find("nope").isPresent());
            assertMessage(() -> c.get("nope"), "tensor 'nope' not found in checkpoint " + dir);
        }
        // The index file itself is also accepted as the path.
        try (Checkpoint c = Checkpoint.open(index())) {
            assertEquals(6, c.names().size());
        }
    }

    @Test
    void singleFileWhenEverythingFitsAndStaleShardsAreRemoved() throws IOException {
        sharded();
        SafetensorsWriter.writeSharded(dir, six(), Map.of(), 1 << 20);
        assertEquals(List.of(Checkpoint.SINGLE_FILE), files());
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(6, c.names().size());
            assertEquals(384, c.totalBytes());
        }
        // A single file path works as well.
        try (Checkpoint c = Checkpoint.open(dir.resolve(Checkpoint.SINGLE_FILE))) {
            assertEquals(6, c.names().size());
            assertEquals(dir.resolve(Checkpoint.SINGLE_FILE), c.path());
        }
    }

    @Test
    void tensorLargerThanTheLimitGetsItsOwnShard() throws IOException {
        List<TensorSource> t = List.of(
                new TensorSource("small.a", DType.U8, new long[] {10}, counting(10, 0)),
                new TensorSource("big", DType.U8, new long[] {100}, counting(100, 1)),
                new TensorSource("small.b", DType.U8, new long[] {10}, counting(10, 2)));
        SafetensorsWriter.writeSharded(dir, t, Map.of(), 50);
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                Checkpoint.INDEX_FILE), files());
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertTrue(c.get("big").file().endsWith("model-00001-of-00002.safetensors"));
            assertTrue(c.get("small.b").file().endsWith("model-00002-of-00002.safetensors"));
        }
    }

    @Test
    void indexWinsOverASingleFile() throws IOException {
        sharded();
        SafetensorsWriter.write(dir.resolve(Checkpoint.SINGLE_FILE), List.of(), Map.of());
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(6, c.names().size());
        }
    }

    @Test
    void emptyFolder() {
        assertMessage(() -> Checkpoint.open(dir),
                "no model.safetensors or model.safetensors.index.json in " + dir);
    }

    @Test
    void missingPath() {
        assertMessage(() -> Checkpoint.open(dir.resolve("nowhere")), dir.resolve("nowhere").toString(),
                "no such file or directory");
    }

    @Test
    void missingShardFile() throws IOException {
        sharded();
        Files.delete(dir.resolve(SHARD2));
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "tensor 'layer.2.w'", SHARD2, "does not exist");
    }

    @Test
    void tensorMissingFromItsShard() throws IOException {
        sharded();
        index("{\"weight_map\":" + sixMap().replace("}", ",\"ghost\":\"" + SHARD2 + "\"}") + "}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "tensor 'ghost'", SHARD2,
                "does not contain it");
    }

    @Test
    void tensorInTheWrongShard() throws IOException {
        sharded();
        index("{\"weight_map\":" + sixMap().replace("\"layer.0.w\":\"" + SHARD1, "\"layer.0.w\":\"" + SHARD3) + "}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "tensor 'layer.0.w'", SHARD3,
                "does not contain it", "it is in", SHARD1);
    }

    @Test
    void shardTensorNotInTheWeightMap() throws IOException {
        sharded();
        index("{\"weight_map\":" + sixMap().replace(",\"layer.5.w\":\"" + SHARD3 + "\"", "") + "}");
        assertMessage(() -> Checkpoint.open(dir), SHARD3, "tensor 'layer.5.w'", "not listed in the weight_map",
                Checkpoint.INDEX_FILE);
    }

    @Test
    void pathTraversalIsRefused() throws IOException {
        Path inner = Files.createDirectory(dir.resolve("model"));
        SafetensorsWriter.write(dir.resolve("outside.safetensors"), List.of(), Map.of());
        Files.writeString(inner.resolve(Checkpoint.INDEX_FILE),
                "{\"weight_map\":" + weightMap("w", "../outside.safetensors") + "}");
        assertMessage(() -> Checkpoint.open(inner), Checkpoint.INDEX_FILE, "tensor 'w'",
                "'../outside.safetensors'", "leaves the model folder");
        Files.writeString(inner.resolve(Checkpoint.INDEX_FILE),
                "{\"weight_map\":" + weightMap("w", dir.resolve("outside.safetensors").toString()) + "}");
        assertMessage(() -> Checkpoint.open(inner), Checkpoint.INDEX_FILE, "tensor 'w'", "absolute path");
        Files.writeString(inner.resolve(Checkpoint.INDEX_FILE),
                "{\"weight_map\":" + weightMap("w", "sub/../../outside.safetensors") + "}");
        assertMessage(() -> Checkpoint.open(inner), Checkpoint.INDEX_FILE, "tensor 'w'", "leaves the model folder");
        Files.writeString(inner.resolve(Checkpoint.INDEX_FILE),
                "{\"weight_map\":" + weightMap("w", "..\\\\outside.safetensors") + "}");
        assertMessage(() -> Checkpoint.open(inner), Checkpoint.INDEX_FILE, "tensor 'w'", "'\\'");
    }

    @Test
    void totalSizeMismatch() throws IOException {
        sharded();
        index("{\"metadata\":{\"total_size\":385,\"format\":\"pt\"},\"weight_map\":" + sixMap() + "}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "total_size is 385", "hold 384 bytes");
    }

    @Test
    void totalSizeIsOptionalAndOtherMetadataIgnored() throws IOException {
        sharded();
        index("{\"metadata\":{\"total_parameters\":96},\"extra\":[1],\"weight_map\":" + sixMap() + "}");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(384, c.totalBytes());
        }
    }

    @Test
    void totalSizeNotANumber() throws IOException {
        sharded();
        index("{\"metadata\":{\"total_size\":\"384\"},\"weight_map\":" + sixMap() + "}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "metadata.total_size", "string");
    }

    @Test
    void duplicateTensorAcrossShards() throws IOException {
        sharded();
        // Shard 3 also gets a copy of layer.0.w, which already lives in shard 1.
        List<TensorSource> third = new ArrayList<>(six().subList(4, 6));
        third.add(six().getFirst());
        SafetensorsWriter.write(dir.resolve(SHARD3), third, Map.of());
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "tensor 'layer.0.w'", "two shards", SHARD1,
                SHARD3);
    }

    @Test
    void malformedIndex() throws IOException {
        sharded();
        index("{\"weight_map\":");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "index is not valid JSON");
        index("[]");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "must be a JSON object");
        index("{\"metadata\":{}}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "no 'weight_map'");
        index("{\"weight_map\":[]}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "'weight_map' must be an object");
        index("{\"weight_map\":{\"w\":7}}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "tensor 'w'", "must be a shard file name");
        index("{\"weight_map\":{\"w\":\"" + SHARD1 + "\",\"w\":\"" + SHARD2 + "\"}}");
        assertMessage(() -> Checkpoint.open(dir), index().toString(), "duplicate key 'w'", "inside 'weight_map'");
    }

    @Test
    void badShardIsReportedWithItsOwnName() throws IOException {
        sharded();
        Files.write(dir.resolve(SHARD2), new byte[] {1, 2, 3});
        assertMessage(() -> Checkpoint.open(dir), SHARD2, "too short");
    }
}
