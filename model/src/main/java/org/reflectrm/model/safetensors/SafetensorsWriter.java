package org.reflectrm.model.safetensors;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.reflectrm.kernels.DType;

/**
 * Writes safetensors files byte-for-byte as the reference (Rust/Python) writer does, and sharded
 * checkpoints laid out as transformers' {@code save_pretrained} lays them out. Every file is
 * written atomically (temporary file, then rename), so a failed write never leaves half a file and
 * never destroys the file it would have replaced.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    /**
     * The reference writer's dtype order ({@code Dtype} derives {@code Ord} in this declaration
     * order, "increasing alignment"). Tensors are written in descending order of this rank, which is
     * not just by element size: among 2-byte types all BF16 tensors precede all F16 ones.
     */
    private static final List<DType> REFERENCE_ORDER = List.of(DType.BOOL, DType.U8, DType.I8, DType.F8_E5M2,
            DType.F8_E4M3, DType.I16, DType.U16, DType.F16, DType.BF16, DType.I32, DType.U32, DType.F32, DType.F64,
            DType.I64, DType.U64);

    private static final Map<DType, Integer> RANK = new EnumMap<>(DType.class);

    static {
        for (int i = 0; i < REFERENCE_ORDER.size(); i++) {
            RANK.put(REFERENCE_ORDER.get(i), i);
        }
        // Q8 is not a safetensors dtype: 8-bit checkpoints store it as U8 bytes.
        if (RANK.size() != DType.values().length - 1) {
            throw new IllegalStateException("SafetensorsWriter does not know the order of every DType");
        }
    }

    /** Largest alignment first, then by name (UTF-8 byte order, as Rust compares strings). */
    private static final Comparator<TensorSource> FILE_ORDER = Comparator
            .comparing((TensorSource t) -> RANK.get(t.dtype()), Comparator.reverseOrder())
            .thenComparing(TensorSource::name, Text.CODE_POINT_ORDER);

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    /** Bytes handed to the channel per write call; large enough to be cheap, small enough for ByteBuffer. */
    private static final long CHUNK = 16 << 20;

    /**
     * Writes one safetensors file. {@code metadata} becomes {@code __metadata__} (keys sorted),
     * omitted when empty. Tensor data are copied as they are.
     *
     * @throws IllegalArgumentException for duplicate or reserved names, or unwritable strings
     */
    public static void write(Path file, List<TensorSource> tensors, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(file, "file");
        validate(tensors, metadata);
        List<TensorSource> ordered = new ArrayList<>(tensors);
        ordered.sort(FILE_ORDER);
        byte[] header = header(ordered, metadata);
        AtomicFiles.write(file, channel -> {
            ByteBuffer length = ByteBuffer.allocate(HeaderParser.LENGTH_FIELD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            length.putLong(header.length).flip();
            writeFully(channel, length);
            writeFully(channel, ByteBuffer.wrap(header));
            for (TensorSource t : ordered) {
                MemorySegment data = t.data();
                for (long at = 0; at < data.byteSize(); at += CHUNK) {
                    writeFully(channel, data.asSlice(at, Math.min(CHUNK, data.byteSize() - at)).asByteBuffer());
                }
            }
        });
    }

    /**
     * Writes a checkpoint folder (created if needed). If all tensors fit in one shard of at most
     * {@code maxShardBytes} data bytes this is {@code model.safetensors}; otherwise
     * {@code model-00001-of-0000N.safetensors} ... and {@code model.safetensors.index.json}, the
     * index written last. Tensors are assigned to shards greedily in list order, a tensor larger
     * than the limit alone in its shard (as huggingface_hub does). Each shard carries
     * {@code metadata}.
     *
     * <p>Files a previous save left that would contradict this one are removed after the new
     * files are in place: shard files with the {@code model-XXXXX-of-YYYYY.safetensors} name that
     * are not part of this save, and, for a single-file save, an old index (which would
     * otherwise take precedence over the new {@code model.safetensors}).
     */
    public static void writeSharded(Path dir, List<TensorSource> tensors, Map<String, String> metadata,
                                    long maxShardBytes) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        validate(tensors, metadata);
        List<List<TensorSource>> shards = assignShards(tensors, maxShardBytes);
        Files.createDirectories(dir);
        Set<String> written = new HashSet<>();
        if (shards.size() <= 1) {
            write(dir.resolve(Checkpoint.SINGLE_FILE), tensors, metadata);
            Files.deleteIfExists(dir.resolve(Checkpoint.INDEX_FILE));
        } else {
            Map<String, String> weightMap = new TreeMap<>(Text.CODE_POINT_ORDER);
            long total = 0;
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                write(dir.resolve(name), shards.get(i), metadata);
                written.add(name);
                for (TensorSource t : shards.get(i)) {
                    weightMap.put(t.name(), name);
                    total += t.byteSize();
                }
            }
            writeIndex(dir, weightMap, total);
        }
        removeStaleShards(dir, written);
    }

    /**
     * Writes {@code dir/model.safetensors.index.json} atomically, for callers that write their
     * shards one at a time with {@link #write}.
     *
     * @param weightMap tensor name to shard file name
     * @param totalSize the sum of the tensors' data bytes
     */
    public static void writeIndex(Path dir, Map<String, String> weightMap, long totalSize) throws IOException {
        Map<String, String> sorted = new TreeMap<>(Text.CODE_POINT_ORDER);
        sorted.putAll(weightMap);
        byte[] index = indexJson(totalSize, sorted).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(dir.resolve(Checkpoint.INDEX_FILE), channel -> writeFully(channel, ByteBuffer.wrap(index)));
    }

    private static List<List<TensorSource>> assignShards(List<TensorSource> tensors, long max) {
        List<List<TensorSource>> shards = new ArrayList<>();
        List<TensorSource> current = new ArrayList<>();
        long size = 0;
        for (TensorSource t : tensors) {
            if (t.byteSize() > max) {
                shards.add(List.of(t));
                continue;
            }
            if (size + t.byteSize() > max) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteSize();
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private static void removeStaleShards(Path dir, Set<String> keep) throws IOException {
        List<Path> stale = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (SHARD_NAME.matcher(name).matches() && !keep.contains(name) && Files.isRegularFile(p)) {
                    stale.add(p);
                }
            }
        }
        for (Path p : stale) {
            Files.deleteIfExists(p);
        }
    }

    private static void validate(List<TensorSource> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        Set<String> names = new HashSet<>();
        for (TensorSource t : tensors) {
            if (t == null) {
                throw new IllegalArgumentException("tensor list contains null");
            }
            if (t.name().equals(HeaderParser.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name '" + HeaderParser.METADATA_KEY
                        + "' is reserved for the metadata map");
            }
            if (Text.hasUnpairedSurrogate(t.name())) {
                throw new IllegalArgumentException("tensor " + Text.quote(t.name())
                        + ": name has an unpaired surrogate and cannot be written as UTF-8");
            }
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor " + Text.quote(t.name()) + " appears twice");
            }
        }
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("metadata has a null key or value");
            }
            if (Text.hasUnpairedSurrogate(e.getKey()) || Text.hasUnpairedSurrogate(e.getValue())) {
                throw new IllegalArgumentException("metadata key " + Text.quote(e.getKey())
                        + ": has an unpaired surrogate and cannot be written as UTF-8");
            }
        }
    }

    /**
     * The header as serde_json writes it (compact, no spaces), padded with spaces to a multiple of
     * 8 bytes so that data starts 8-aligned and, with the dtype order, every tensor is aligned to
     * its element size.
     */
    static byte[] header(List<TensorSource> ordered, Map<String, String> metadata) {
        StringBuilder b = new StringBuilder(64 + 96 * ordered.size()).append('{');
        boolean first = true;
        if (!metadata.isEmpty()) {
            b.append('"').append(HeaderParser.METADATA_KEY).append("\":{");
            Map<String, String> sorted = new TreeMap<>(Text.CODE_POINT_ORDER);
            sorted.putAll(metadata);
            boolean firstKey = true;
            for (Map.Entry<String, String> e : sorted.entrySet()) {
                if (!firstKey) {
                    b.append(',');
                }
                firstKey = false;
                Text.appendSerdeString(b, e.getKey());
                b.append(':');
                Text.appendSerdeString(b, e.getValue());
            }
            b.append('}');
            first = false;
        }
        long offset = 0;
        for (TensorSource t : ordered) {
            if (!first) {
                b.append(',');
            }
            first = false;
            Text.appendSerdeString(b, t.name());
            b.append(":{\"dtype\":\"").append(t.dtype().name()).append("\",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                b.append(i == 0 ? "" : ",").append(shape[i]);
            }
            b.append("],\"data_offsets\":[").append(offset).append(',').append(offset + t.byteSize()).append("]}");
            offset += t.byteSize();
        }
        b.append('}');
        byte[] json = b.toString().getBytes(StandardCharsets.UTF_8);
        int padded = json.length + (8 - json.length % 8) % 8;
        if (padded > JsonReading.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("header would be " + padded + " bytes, more than readers accept ("
                    + JsonReading.MAX_HEADER_BYTES + ")");
        }
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** {@code json.dumps(index, indent=2, sort_keys=True) + "\n"}, as transformers writes it. */
    static String indexJson(long totalSize, Map<String, String> sortedWeightMap) {
        StringBuilder b = new StringBuilder(64 + 80 * sortedWeightMap.size());
        b.append("{\n  \"metadata\": {\n    \"total_size\": ").append(totalSize).append("\n  },\n  \"weight_map\": {");
        boolean first = true;
        for (Map.Entry<String, String> e : sortedWeightMap.entrySet()) {
            b.append(first ? "\n" : ",\n").append("    ");
            first = false;
            Text.appendPythonString(b, e.getKey());
            b.append(": ");
            Text.appendPythonString(b, e.getValue());
        }
        b.append(first ? "}" : "\n  }").append("\n}\n");
        return b.toString();
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
