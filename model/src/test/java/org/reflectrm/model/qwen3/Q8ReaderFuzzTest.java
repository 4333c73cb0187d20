package org.reflectrm.model.qwen3;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.cpu.CpuBackend;
import org.reflectrm.model.BadInputException;

/**
 * Fuzz of the 8-bit checkpoint reader: an 8-bit copy of a fixture with its header mutated (the
 * U8 tensors' shapes, dtypes and offsets) or its block bytes overwritten. Loading either succeeds
 * or fails with a {@link BadInputException} naming the problem; a checkpoint that loads runs a
 * forward pass without any other exception (garbage scales give garbage logits, not a crash).
 */
class Q8ReaderFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CASES = 300;

    @TempDir
    Path tmp;

    @Test
    void mutatedCheckpointsLoadOrFailWithANamedError() throws IOException {
        Path base = tmp.resolve("base");
        Path source = FixtureParityTest.fixture("tiny-bf16-tied");
        try (Qwen3Model original = Qwen3Model.load(source)) {
            Q8Weights.save(base, source, original.weights().named());
        }
        byte[] file = Files.readAllBytes(base.resolve("model.safetensors"));
        long headerLength = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) JSON.readTree(new String(file, 8, (int) headerLength, StandardCharsets.UTF_8));
        byte[] data = java.util.Arrays.copyOfRange(file, 8 + (int) headerLength, file.length);
        List<String> quantized = new ArrayList<>();
        for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (header.get(name).path("dtype").asText().equals("U8")) {
                quantized.add(name);
            }
        }
        assertTrue(quantized.size() > 10, "the copy has 8-bit tensors");
        Random rnd = new Random(2026);
        int loaded = 0, refused = 0;
        try (CpuBackend backend = new CpuBackend(1)) {
            for (int c = 0; c < CASES; c++) {
                Path dir = Files.createTempDirectory(tmp, "case");
                Files.copy(base.resolve("config.json"), dir.resolve("config.json"));
                ObjectNode h = header.deepCopy();
                byte[] d = data.clone();
                String what = mutate(h, d, quantized.get(rnd.nextInt(quantized.size())), rnd);
                write(dir.resolve("model.safetensors"), h, d);
                try (Qwen3Model model = Qwen3Model.load(dir)) {
                    FixtureParityTest.logits(model, backend, new int[] {1, 2, 3});
                    loaded++;
                } catch (BadInputException e) {
                    assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), what);
                    refused++;
                } catch (RuntimeException | Error e) {
                    fail("case " + c + " (" + what + "): " + e, e);
                }
            }
        }
        assertTrue(loaded > 0 && refused > 0, "both outcomes occur: loaded " + loaded + ", refused " + refused);
    }

    /** One random change; returns what it did, for the failure message. */
    private static String mutate(ObjectNode header, byte[] data, String name, Random rnd) {
        ObjectNode t = (ObjectNode) header.get(name);
        ArrayNode shape = (ArrayNode) t.get("shape");
        ArrayNode offsets = (ArrayNode) t.get("data_offsets");
        long[] interesting = {0, 1, -1, 31, 32, 36, 63, 72, 1L << 31, Long.MAX_VALUE};
        switch (rnd.nextInt(6)) {
            case 0 -> {
                int axis = rnd.nextInt(shape.size());
                long v = rnd.nextBoolean() ? interesting[rnd.nextInt(interesting.length)] : shape.get(axis).asLong() + rnd.nextInt(9) - 4;
                shape.set(axis, v);
                return name + " shape[" + axis + "] = " + v;
            }
            case 1 -> {
                String type = new String[] {"I8", "BF16", "F32", "BOOL", "Q8"}[rnd.nextInt(5)];
                t.put("dtype", type);
                return name + " dtype " + type;
            }
            case 2 -> {
                shape.removeAll();
                int rank = rnd.nextInt(4);
                for (int i = 0; i < rank; i++) {
                    shape.add(interesting[rnd.nextInt(interesting.length)]);
                }
                return name + " shape " + shape;
            }
            case 3 -> {
                long end = offsets.get(1).asLong() - 36L * (1 + rnd.nextInt(3));
                offsets.set(1, end);
                return name + " data end " + end;
            }
            case 4 -> {
                // A scale (bytes 32..35 of some block) becomes NaN, infinity or huge.
                int block = rnd.nextInt((int) ((offsets.get(1).asLong() - offsets.get(0).asLong()) / 36));
                int at = (int) offsets.get(0).asLong() + block * 36 + 32;
                float v = new float[] {Float.NaN, Float.POSITIVE_INFINITY, 3e38f, -0f}[rnd.nextInt(4)];
                ByteBuffer.wrap(data, at, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v);
                return name + " block " + block + " scale " + v;
            }
            default -> {
                for (int i = 0; i < 16; i++) {
                    data[rnd.nextInt(data.length)] = (byte) rnd.nextInt(256);
                }
                return "16 random data bytes";
            }
        }
    }

    private static void write(Path file, ObjectNode header, byte[] data) throws IOException {
        byte[] json = JSON.writeValueAsBytes(header);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data);
        Files.write(file, out.array());
    }
}
