package org.reflectrm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The bundled demo judge: a toy-world ReflectRM (docs/toy-world.md) that {@code judge},
 * {@code eval}, {@code generate} and {@code data sample} use when {@code --model} is absent.
 *
 * <p>Its files are resources of the jar, so a built project finds them with no network and no
 * path to the repository. The model loader memory-maps safetensors from a folder, so the first
 * use unpacks them to a cache folder named by their content's hash: a new demo gets a new folder,
 * and a folder is only ever seen complete (written beside, then renamed into place).
 */
final class DemoModel {
    /** The demo's files, as resources under {@link #RESOURCE_DIR}. */
    static final List<String> FILES = List.of("config.json", "generation_config.json", "model.safetensors",
            "tokenizer.json", "tokenizer_config.json", "demo.json");
    private static final String RESOURCE_DIR = "/org/reflectrm/cli/demo-model/";

    private DemoModel() {
    }

    /** {@code model} if given, else the demo's folder, saying so on {@code err}. */
    static Path orDefault(Path model, PrintWriter err) {
        if (model != null) {
            return model;
        }
        Path folder = folder(cacheRoot());
        err.println("reflectrm-j: no --model given: using the bundled demo judge, a 0.85M-parameter toy trained on "
                + "one-digit sums, comparisons and letter counts (docs/toy-world.md), at " + folder);
        err.flush();
        return folder;
    }

    /**
     * Where unpacked files live: $REFLECTRM_CACHE (or the system property reflectrm.cache, which
     * tests set), else $XDG_CACHE_HOME/reflectrm-j, else ~/.cache/reflectrm-j.
     */
    static Path cacheRoot() {
        String own = System.getProperty("reflectrm.cache", System.getenv("REFLECTRM_CACHE"));
        if (own != null && !own.isBlank()) {
            return Path.of(own);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("reflectrm-j");
    }

    /** The demo unpacked under {@code root} (done once per demo version). */
    static Path folder(Path root) {
        try {
            byte[][] contents = new byte[FILES.size()][];
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < FILES.size(); i++) {
                contents[i] = resource(FILES.get(i));
                sha.update(FILES.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update(contents[i]);
            }
            Path folder = root.resolve("demo-" + HexFormat.of().formatHex(sha.digest(), 0, 8));
            if (Files.isDirectory(folder)) {
                return folder;
            }
            Files.createDirectories(root);
            Path staging = Files.createTempDirectory(root, ".demo-");
            try {
                for (int i = 0; i < FILES.size(); i++) {
                    Files.write(staging.resolve(FILES.get(i)), contents[i]);
                }
                try {
                    Files.move(staging, folder, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
                    // Another run unpacked the same demo first: use its folder.
                    if (!Files.isDirectory(folder)) {
                        throw e;
                    }
                }
            } finally {
                deleteQuietly(staging);
            }
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException("could not unpack the bundled demo model under " + root
                    + " (set REFLECTRM_CACHE to a writable folder, or pass --model): " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = DemoModel.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new IOException("the jar has no " + RESOURCE_DIR + name + " (a build without the demo model)");
            }
            return in.readAllBytes();
        }
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // Best effort: a leftover staging folder is harmless.
                }
            });
        } catch (IOException ignored) {
            // As above.
        }
    }
}
