package org.reflectrm.model.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One safetensors file, memory-mapped read-only and validated. Tensor data is never copied: each
 * {@link TensorEntry#data()} is a view into the mapping, which lives in a shared arena owned by
 * this object, so the views may be read from any thread until {@link #close()}; after that, any
 * access through them fails with {@link IllegalStateException} instead of reading unmapped memory.
 *
 * <p>A tensor of a type the kernels cannot compute with (I64, BOOL...) is still listed; callers
 * decide what they accept.
 */
public final class SafetensorsFile implements AutoCloseable {

    private final Path path;
    private final Arena arena;
    private final long headerLength;
    private final Map<String, String> metadata;
    private final Map<String, TensorEntry> tensors;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path path, Arena arena, long headerLength, Map<String, String> metadata,
                            Map<String, TensorEntry> tensors) {
        this.path = path;
        this.arena = arena;
        this.headerLength = headerLength;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Maps and validates {@code file}.
     *
     * @throws SafetensorsException when the file is missing, unreadable as a user's input, or not a
     *     valid safetensors file; the message names the file and what is wrong
     * @throws UncheckedIOException for an I/O failure while mapping (a runtime fault, not bad input)
     */
    public static SafetensorsFile open(Path file) {
        Objects.requireNonNull(file, "file");
        String name = file.toString();
        if (Files.isDirectory(file)) {
            throw new SafetensorsException(name + ": is a directory, expected a .safetensors file");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment mapping;
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = channel.size();
                // Mapping zero bytes is pointless; the parser reports the short file.
                mapping = size == 0 ? MemorySegment.ofArray(new byte[0])
                        : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            HeaderParser.Header header = HeaderParser.parse(mapping, name);
            Map<String, TensorEntry> entries = new LinkedHashMap<>();
            long base = header.dataStart();
            for (HeaderParser.RawTensor t : header.tensors()) {
                MemorySegment data = mapping.asSlice(base + t.begin(), t.end() - t.begin()).asReadOnly();
                entries.put(t.name(), new TensorEntry(t.name(), t.dtype(), t.shape(), data, name));
            }
            return new SafetensorsFile(file, arena, header.headerLength(), header.metadata(),
                    Collections.unmodifiableMap(entries));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new SafetensorsException(name + ": no such file", e);
        } catch (AccessDeniedException e) {
            arena.close();
            throw new SafetensorsException(name + ": permission denied", e);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException(name + ": cannot map file: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** All tensors, in the order of their data in the file. Unmodifiable. */
    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}, if the file has it. */
    public Optional<TensorEntry> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The {@code __metadata__} string map, empty when the header has none. Unmodifiable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** N: the byte length of the JSON header (including its padding). */
    public long headerLength() {
        return headerLength;
    }

    /** Unmaps the file; every {@link TensorEntry#data()} of this file becomes inaccessible. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }
}
