package org.reflectrm.model.safetensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * All tensors of a Hugging Face checkpoint: a folder with {@code model.safetensors.index.json} and
 * its shards, or a folder with a single {@code model.safetensors}, or one {@code .safetensors}
 * file. The index, when present, wins (as in transformers). Every shard is mapped, never copied,
 * and stays mapped until {@link #close()}.
 *
 * <p>With an index, the index and the shards must agree exactly: each listed tensor is in the
 * shard the index names, each shard tensor is listed, no tensor is in two shards, and
 * {@code total_size} (when given) is the sum of the tensor bytes.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = ShardIndex.FILE_NAME;

    private final Path path;
    private final List<SafetensorsFile> files;
    private final Map<String, TensorEntry> tensors;
    private final long totalBytes;

    private Checkpoint(Path path, List<SafetensorsFile> files, Map<String, TensorEntry> tensors) {
        this.path = path;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.totalBytes = tensors.values().stream().mapToLong(TensorEntry::byteSize).sum();
    }

    /**
     * Opens a model folder, an index file or a single safetensors file.
     *
     * @throws SafetensorsException when the checkpoint is missing, malformed or inconsistent
     */
    public static Checkpoint open(Path path) {
        Objects.requireNonNull(path, "path");
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.exists(index)) {
                return openIndexed(path, index);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.exists(single)) {
                return openSingle(path, single);
            }
            throw new SafetensorsException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + path);
        }
        if (!Files.exists(path)) {
            throw new SafetensorsException(path + ": no such file or directory");
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".index.json")) {
            Path parent = path.getParent();
            return openIndexed(parent == null ? Path.of("") : parent, path);
        }
        return openSingle(path, path);
    }

    private static Checkpoint openSingle(Path location, Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        return new Checkpoint(location, List.of(f), new LinkedHashMap<>(f.tensors()));
    }

    private static Checkpoint openIndexed(Path dir, Path indexFile) {
        ShardIndex index = ShardIndex.read(indexFile, dir);
        String indexName = indexFile.toString();
        // Shards in name order (model-00001-of-..., model-00002-of-...), so tensors() is stable.
        Map<Path, String> shards = new TreeMap<>(index.shardNames());
        for (Map.Entry<Path, String> s : shards.entrySet()) {
            if (!Files.isRegularFile(s.getKey())) {
                String tensor = index.weightMap().entrySet().stream().filter(e -> e.getValue().equals(s.getKey()))
                        .map(Map.Entry::getKey).findFirst().orElseThrow();
                throw new SafetensorsException(indexName + ": weight_map puts tensor " + Text.quote(tensor)
                        + " in shard " + Text.quote(s.getValue()) + " but " + s.getKey()
                        + (Files.exists(s.getKey()) ? " is not a regular file" : " does not exist"));
            }
        }
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, TensorEntry> all = new LinkedHashMap<>();
            Map<String, Path> origin = new LinkedHashMap<>();
            for (Path shard : shards.keySet()) {
                SafetensorsFile f = SafetensorsFile.open(shard);
                opened.add(f);
                for (TensorEntry t : f.tensors().values()) {
                    Path first = origin.putIfAbsent(t.name(), shard);
                    if (first != null) {
                        throw new SafetensorsException(indexName + ": tensor " + Text.quote(t.name())
                                + " is stored in two shards, " + first + " and " + shard);
                    }
                    all.put(t.name(), t);
                }
            }
            for (Map.Entry<String, Path> e : index.weightMap().entrySet()) {
                Path actual = origin.get(e.getKey());
                if (!e.getValue().equals(actual)) {
                    throw new SafetensorsException(indexName + ": weight_map puts tensor " + Text.quote(e.getKey())
                            + " in " + e.getValue() + " but that file does not contain it"
                            + (actual == null ? "" : " (it is in " + actual + ")"));
                }
            }
            for (Map.Entry<String, Path> e : origin.entrySet()) {
                if (!index.weightMap().containsKey(e.getKey())) {
                    throw new SafetensorsException(e.getValue() + ": tensor " + Text.quote(e.getKey())
                            + " is not listed in the weight_map of " + indexName);
                }
            }
            Checkpoint checkpoint = new Checkpoint(dir, opened, all);
            if (index.totalSize().isPresent() && index.totalSize().getAsLong() != checkpoint.totalBytes) {
                throw new SafetensorsException(indexName + ": metadata.total_size is " + index.totalSize().getAsLong()
                        + " but the tensors in its shards hold " + checkpoint.totalBytes + " bytes");
            }
            return checkpoint;
        } catch (RuntimeException | Error e) {
            for (SafetensorsFile f : opened) {
                f.close();
            }
            throw e;
        }
    }

    /** The folder (or single file) this checkpoint was opened from. */
    public Path path() {
        return path;
    }

    /** The tensor called {@code name}; a missing tensor is bad input, reported with the checkpoint's path. */
    public TensorEntry get(String name) {
        TensorEntry e = tensors.get(name);
        if (e == null) {
            throw new SafetensorsException("tensor " + Text.quote(name) + " not found in checkpoint " + path);
        }
        return e;
    }

    public Optional<TensorEntry> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** Tensor names, shard by shard in file-name order, each shard in data order. Unmodifiable. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** All tensors, in {@link #names()} order. Unmodifiable. */
    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    /** The opened files, shards in file-name order. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Sum of the tensor data bytes (what an index calls {@code total_size}; headers excluded). */
    public long totalBytes() {
        return totalBytes;
    }

    /** Unmaps every file; all {@link TensorEntry#data()} views become inaccessible. */
    @Override
    public void close() {
        for (SafetensorsFile f : files) {
            f.close();
        }
    }

    @Override
    public String toString() {
        return "Checkpoint[" + path + ", " + files.size() + " file(s), " + tensors.size() + " tensors]";
    }
}
