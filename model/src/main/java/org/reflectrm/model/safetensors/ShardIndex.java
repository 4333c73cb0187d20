package org.reflectrm.model.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A parsed {@code model.safetensors.index.json}: which shard file holds each tensor, and the
 * optional {@code metadata.total_size}. Other metadata keys and other top-level keys are ignored,
 * since writers add their own. Shard names are resolved inside the model folder; a name that
 * would leave it ("../x", "/etc/x") is refused before any file is touched.
 *
 * @param weightMap tensor name to the shard's path (folder + name), in the index's order
 * @param shardNames shard path to the name as the index spells it, for messages
 */
record ShardIndex(Path file, Map<String, Path> weightMap, Map<Path, String> shardNames, OptionalLong totalSize) {

    static final String FILE_NAME = "model.safetensors.index.json";

    static ShardIndex read(Path indexFile, Path dir) {
        String name = indexFile.toString();
        byte[] bytes;
        if (!Files.isRegularFile(indexFile)) {
            throw new SafetensorsException(name + ": " + (Files.exists(indexFile) ? "is not a regular file" : "no such file"));
        }
        try {
            if (Files.size(indexFile) > JsonReading.MAX_HEADER_BYTES) {
                throw new SafetensorsException(name + ": index is " + Files.size(indexFile)
                        + " bytes, more than the " + JsonReading.MAX_HEADER_BYTES + "-byte limit");
            }
            bytes = Files.readAllBytes(indexFile);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(name + ": no such file", e);
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode root = JsonReading.parse(JsonReading.decodeUtf8(bytes, name, "index"), name, "index");
        if (!root.isObject()) {
            throw new SafetensorsException(name + ": index must be a JSON object with 'weight_map', found "
                    + JsonReading.found(root));
        }

        OptionalLong totalSize = OptionalLong.empty();
        JsonNode metadata = root.get("metadata");
        if (metadata != null && !metadata.isNull()) {
            if (!metadata.isObject()) {
                throw new SafetensorsException(name + ": 'metadata' must be an object, found "
                        + JsonReading.found(metadata));
            }
            JsonNode total = metadata.get("total_size");
            if (total != null && !total.isNull()) {
                totalSize = OptionalLong.of(totalSize(total, name));
            }
        }

        JsonNode map = root.get("weight_map");
        if (map == null) {
            throw new SafetensorsException(name + ": index has no 'weight_map'");
        }
        if (!map.isObject()) {
            throw new SafetensorsException(name + ": 'weight_map' must be an object mapping tensor names to shard "
                    + "file names, found " + JsonReading.found(map));
        }
        Map<String, Path> weightMap = new LinkedHashMap<>();
        Map<Path, String> shardNames = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String where = name + ": weight_map entry for tensor " + Text.quote(e.getKey());
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(where + " must be a shard file name, found "
                        + JsonReading.found(e.getValue()));
            }
            Path shard = resolveInside(dir, e.getValue().textValue(), where);
            weightMap.put(e.getKey(), shard);
            shardNames.putIfAbsent(shard, e.getValue().textValue());
        }
        return new ShardIndex(indexFile, Collections.unmodifiableMap(weightMap),
                Collections.unmodifiableMap(shardNames), totalSize);
    }

    /**
     * transformers writes an int; some tools write e.g. {@code 1.5E9}. Any number with an exact
     * non-negative integer value is accepted.
     */
    private static long totalSize(JsonNode total, String file) {
        if (total.isNumber() && total.canConvertToExactIntegral() && total.canConvertToLong()
                && total.longValue() >= 0) {
            return total.longValue();
        }
        throw new SafetensorsException(file + ": metadata.total_size must be a non-negative integer, found "
                + JsonReading.found(total));
    }

    /**
     * The shard's path inside {@code dir}. The check is on the names only: real model folders (the
     * Hugging Face cache) are full of symlinks into a blob store elsewhere, and those are fine.
     */
    static Path resolveInside(Path dir, String shard, String where) {
        String refused = where + " names shard " + Text.quote(shard) + ", which ";
        if (shard.isEmpty()) {
            throw new SafetensorsException(refused + "is empty; expected a file name");
        }
        if (shard.indexOf('\\') >= 0) {
            // A Windows separator would make the same index mean different files on different systems.
            throw new SafetensorsException(refused + "contains '\\'; expected a file name in the model folder");
        }
        Path relative;
        try {
            relative = dir.getFileSystem().getPath(shard);
        } catch (InvalidPathException e) {
            throw new SafetensorsException(refused + "is not a valid file name: " + e.getReason(), e);
        }
        if (relative.isAbsolute() || relative.getRoot() != null) {
            throw new SafetensorsException(refused + "is an absolute path; shards must be inside " + dir);
        }
        for (Path part : relative) {
            if (part.toString().equals("..")) {
                throw new SafetensorsException(refused + "leaves the model folder " + dir + " through '..'");
            }
        }
        // With '..' and roots refused, the normalized name cannot point outside the folder.
        Path normalized = relative.normalize();
        if (normalized.toString().isEmpty()) {
            throw new SafetensorsException(refused + "names the model folder itself, not a file");
        }
        Path resolved = dir.resolve(normalized);
        return resolved;
    }
}
