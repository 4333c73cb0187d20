package org.reflectrm.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.counting;
import static org.reflectrm.model.safetensors.SafetensorsTestSupport.read;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.kernels.DType;

class SafetensorsRoundTripTest {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static MemorySegment f32(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(F32_LE, i, v[i]);
        }
        return s;
    }

    private static MemorySegment f16(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(U16_LE, i, Float.floatToFloat16(v[i]));
        }
        return s;
    }

    private static MemorySegment bf16(float... v) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 2]);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(U16_LE, i, (short) (Float.floatToIntBits(v[i]) >>> 16));
        }
        return s;
    }

    private static MemorySegment i64(long v) {
        MemorySegment s = MemorySegment.ofArray(new byte[8]);
        s.set(I64_LE, 0, v);
        return s;
    }

    private static List<TensorSource> mixed() {
        return List.of(
                new TensorSource("model.norm.weight", DType.F16, new long[] {4}, f16(1f, -2f, 0.5f, 65504f)),
                new TensorSource("a.b", DType.F32, new long[] {2, 3}, f32(0, 1, 2, 3, 4, 5)),
                new TensorSource("emb", DType.BF16, new long[] {3, 2}, bf16(1f, 2f, 3f, -4f, 0.25f, 8f)),
                new TensorSource("step", DType.I64, new long[] {}, i64(-42)),
                new TensorSource("empty", DType.F32, new long[] {0, 3}, MemorySegment.ofArray(new byte[0])),
                new TensorSource("flags", DType.U8, new long[] {5}, counting(5, 7)),
                new TensorSource("z.last", DType.F32, new long[] {1}, f32(9f)));
    }

    @Test
    void roundTripKeepsBytesShapesDtypesAndMetadata() throws IOException {
        Path file = dir.resolve("mixed.safetensors");
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("note", "ünïcode ✓ \"quoted\"\n\u0001 😀");
        List<TensorSource> in = mixed();
        SafetensorsWriter.write(file, in, metadata);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(metadata, f.metadata());
            assertEquals(in.size(), f.tensors().size());
            for (TensorSource t : in) {
                TensorEntry e = f.tensors().get(t.name());
                assertEquals(t.dtype(), e.dtype(), t.name());
                assertArrayEquals(t.shape(), e.shape(), t.name());
                assertEquals(t.byteSize(), e.byteSize(), t.name());
                assertEquals(-1, e.data().mismatch(t.data()), t.name());
                assertEquals(file.toString(), e.file());
                assertTrue(e.data().isReadOnly(), t.name());
                // The mapping is page-aligned, so this checks each tensor's offset alignment.
                assertEquals(0, e.data().address() % e.dtype().byteSize(), t.name());
            }
            TensorEntry scalar = f.tensors().get("step");
            assertEquals(0, scalar.rank());
            assertEquals(1, scalar.numel());
            assertEquals(-42, scalar.data().get(I64_LE, 0));
            assertEquals(0, f.tensors().get("empty").numel());
            assertEquals(-4f, Float.intBitsToFloat(f.tensors().get("emb").data().getAtIndex(U16_LE, 3) << 16));
            assertEquals(65504f, Float.float16ToFloat(f.tensors().get("model.norm.weight").data().getAtIndex(U16_LE, 3)));
            // Reference order: 8-byte types, then F32 by name, BF16 before F16, then 1-byte types.
            assertEquals(List.of("step", "a.b", "empty", "z.last", "emb", "model.norm.weight", "flags"),
                    new ArrayList<>(f.tensors().keySet()));
            assertEquals(0, f.headerLength() % 8);
            assertThrows(UnsupportedOperationException.class, () -> f.tensors().clear());
        }
    }

    @Test
    void viewsBecomeInaccessibleAfterClose() throws IOException {
        Path file = dir.resolve("x.safetensors");
        SafetensorsWriter.write(file, mixed(), Map.of());
        MemorySegment data;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            data = f.tensors().get("a.b").data();
            assertEquals(1f, data.getAtIndex(F32_LE, 1));
        }
        assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void headerMatchesThePythonSafetensorsExample() throws IOException {
        // qwen3-spec.md §2.1: produced by the Python safetensors 0.8.0 library.
        Path file = dir.resolve("model.safetensors");
        SafetensorsWriter.write(file, List.of(
                new TensorSource("model.norm.weight", DType.F16, new long[] {4}, counting(8, 100)),
                new TensorSource("a.b", DType.F32, new long[] {2, 3}, counting(24, 0))), Map.of("format", "pt"));
        byte[] bytes = read(file);
        String expected = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a.b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"model.norm.weight\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]}}"
                + "       ";
        assertEquals(168, expected.length());
        assertArrayEquals(new byte[] {(byte) 168, 0, 0, 0, 0, 0, 0, 0}, Arrays.copyOf(bytes, 8));
        assertEquals(expected, new String(bytes, 8, 168, StandardCharsets.UTF_8));
        assertEquals(8 + 168 + 32, bytes.length);
        assertEquals(-1, MemorySegment.ofArray(Arrays.copyOfRange(bytes, 176, 200)).mismatch(counting(24, 0)));
        assertEquals(-1, MemorySegment.ofArray(Arrays.copyOfRange(bytes, 200, 208)).mismatch(counting(8, 100)));
    }

    @Test
    void emptyFileMatchesTheReferenceWriter() throws IOException {
        // The reference writer's own test: no tensors, no metadata gives "{}" and 6 spaces.
        Path file = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(file, List.of(), Map.of());
        assertArrayEquals(new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '}, read(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.tensors().isEmpty());
            assertTrue(f.metadata().isEmpty());
        }
    }

    @Test
    void namesAreEscapedLikeSerdeJson() throws IOException {
        Path file = dir.resolve("esc.safetensors");
        String name = "q\"b\\s/\t\u001f\u007fé";
        SafetensorsWriter.write(file, List.of(new TensorSource(name, DType.U8, new long[] {1}, counting(1, 0))),
                Map.of());
        byte[] bytes = read(file);
        String header = new String(bytes, 8, bytes[0] & 0xff, StandardCharsets.UTF_8).strip();
        assertTrue(header.startsWith("{\"q\\\"b\\\\s/\\t\\u001f\u007fé\":"), header);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of(name), new ArrayList<>(f.tensors().keySet()));
        }
    }

    @Test
    void writeReplacesAnExistingFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Files.writeString(file, "old");
        SafetensorsWriter.write(file, mixed(), Map.of());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(7, f.tensors().size());
        }
        assertEquals(List.of(file), listDir());
    }

    @Test
    void failedWriteKeepsTheOldFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Files.writeString(file, "precious");
        MemorySegment gone;
        try (Arena arena = Arena.ofConfined()) {
            gone = arena.allocate(24);
        }
        List<TensorSource> bad = List.of(new TensorSource("a", DType.F32, new long[] {6}, gone));
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(file, bad, Map.of()));
        assertEquals("precious", Files.readString(file));
        assertEquals(List.of(file), listDir());
    }

    @Test
    void writerRejectsBadInputWithIllegalArgument() {
        Path file = dir.resolve("never.safetensors");
        MemorySegment six = f32(1, 2, 3, 4, 5, 6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TensorSource("w", DType.F32, new long[] {2, 2}, six));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("24 bytes")
                && e.getMessage().contains("needs 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new TensorSource("neg", DType.F32, new long[] {-1, 2}, six));
        assertTrue(e.getMessage().contains("'neg'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TensorSource("big", DType.F32,
                new long[] {1L << 40, 1L << 40}, six));
        assertTrue(e.getMessage().contains("'big'"), e.getMessage());

        TensorSource a = new TensorSource("dup", DType.F32, new long[] {6}, six);
        TensorSource b = new TensorSource("dup", DType.F16, new long[] {12}, six);
        e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(a, b), Map.of()));
        assertTrue(e.getMessage().contains("'dup'") && e.getMessage().contains("twice"), e.getMessage());
        TensorSource reserved = new TensorSource("__metadata__", DType.F32, new long[] {6}, six);
        e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(file, List.of(reserved), Map.of()));
        assertTrue(e.getMessage().contains("__metadata__"), e.getMessage());
        TensorSource lone = new TensorSource("bad\ud800", DType.F32, new long[] {6}, six);
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, List.of(lone), Map.of()));
        e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.writeSharded(dir, List.of(a), Map.of(), 0));
        assertTrue(e.getMessage().contains("maxShardBytes"), e.getMessage());
        assertTrue(Files.notExists(file));
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }
}
