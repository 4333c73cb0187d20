package org.reflectrm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.AtomicFiles;

/**
 * The output folder: {@code part-NNNNN.jsonl}, one per partition, each written whole (temporary
 * file, then rename) when its partition is done, so a part file that exists is complete and a
 * rerun skips its partition; and {@code _partitions.json}, how the input was cut, so a rerun that
 * would cut it differently (another --partitions, a changed file) is refused rather than judging
 * some pairs twice.
 */
final class PartFiles {
    static final String MANIFEST = "_partitions.json";

    private PartFiles() {
    }

    static Path part(Path output, int partition) {
        return output.resolve(String.format(Locale.ROOT, "part-%05d.jsonl", partition));
    }

    /** The partition count of the run whose parts {@code output} holds, or null if none. */
    static Integer previousPartitions(Path output, ObjectMapper mapper) throws IOException {
        Path file = output.resolve(MANIFEST);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        JsonNode partitions = mapper.readTree(Files.readString(file)).get("partitions");
        return partitions != null && partitions.canConvertToInt() ? partitions.asInt() : null;
    }

    /** Writes the manifest of this run, or checks that the folder's parts come from the same cut. */
    static void checkOrWriteManifest(Path output, InputLines input, int partitions, ObjectMapper mapper) throws IOException {
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new BadInputException("--output " + output + ": is a file; the job writes a folder of part files");
        }
        Files.createDirectories(output);
        ObjectNode manifest = mapper.createObjectNode();
        manifest.put("partitions", partitions);
        manifest.put("input_lines", input.lines());
        manifest.put("input_sha256", input.sha256());
        Path file = output.resolve(MANIFEST);
        boolean anyPart;
        try (Stream<Path> files = Files.list(output)) {
            anyPart = files.anyMatch(f -> f.getFileName().toString().matches("part-\\d{5,}\\.jsonl"));
        }
        if (anyPart) {
            JsonNode previous = Files.exists(file) ? mapper.readTree(Files.readString(file)) : null;
            if (previous == null || !previous.equals(manifest)) {
                throw new BadInputException("--output " + output + " holds part files of another run ("
                        + (previous == null ? "no " + MANIFEST : previous.get("partitions") + " partitions of "
                        + previous.get("input_lines") + " lines, input sha256 " + previous.get("input_sha256").asText())
                        + "), not of --partitions " + partitions + " over this input: resuming would judge some pairs "
                        + "twice; give a new --output, or the same input and --partitions");
            }
            return;
        }
        AtomicFiles.write(file, (mapper.writerWithDefaultPrettyPrinter().writeValueAsString(manifest) + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }
}
