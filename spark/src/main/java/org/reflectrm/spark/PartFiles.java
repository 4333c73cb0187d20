package org.reflectrm.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.SettingsDiff;
import org.reflectrm.model.safetensors.AtomicFiles;

/**
 * The output folder: {@code part-NNNNN.jsonl} (or {@code .parquet}), one per partition, each
 * written whole (temporary file, then rename) when its partition is done, so a part file that
 * exists is complete and a rerun skips its partition; and {@code _partitions.json}, the manifest.
 * It records how the input was cut and in which format the parts are, so that a rerun that would
 * cut it differently (another --partitions, a changed file) or write other parts is refused rather
 * than judging some pairs twice; and the judging options the folder was started with, so that a
 * rerun with others is refused (unless forced) rather than mixing records of two settings.
 */
final class PartFiles {
    static final String MANIFEST = "_partitions.json";
    private static final String OPTIONS = "options";

    private PartFiles() {
    }

    static Path part(Path output, int partition, Format format) {
        return output.resolve(String.format(Locale.ROOT, "part-%05d.%s", partition, format.extension()));
    }

    /** Commits a partition's records as its part file, written whole or not at all. */
    static void write(Path part, Format format, List<ObjectNode> records, JudgeSpec spec, ObjectMapper mapper)
            throws IOException {
        if (format == Format.PARQUET) {
            AtomicFiles.write(part, channel -> ParquetRecords.write(channel, records, ParquetRecords.schema(spec)));
            return;
        }
        StringBuilder text = new StringBuilder();
        for (ObjectNode record : records) {
            text.append(mapper.writeValueAsString(record)).append('\n');
        }
        AtomicFiles.write(part, text.toString().getBytes(StandardCharsets.UTF_8));
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

    /**
     * Writes the manifest of this run into a folder without part files, or checks that the
     * folder's parts come from the same cut and format, and the same judging {@code options}
     * unless {@code force} (then the difference is only reported on {@code err}, and the manifest
     * keeps the options the folder was started with).
     */
    static void checkOrWriteManifest(Path output, InputLines input, int partitions, Format format, ObjectNode options,
                                     boolean force, ObjectMapper mapper, PrintWriter err) throws IOException {
        if (Files.exists(output) && !Files.isDirectory(output)) {
            throw new BadInputException("--output " + output + ": is a file; the job writes a folder of part files");
        }
        Files.createDirectories(output);
        ObjectNode cut = mapper.createObjectNode();
        cut.put("partitions", partitions);
        cut.put("input_lines", input.lines());
        cut.put("input_sha256", input.sha256());
        cut.put("output_format", format.extension());
        Path file = output.resolve(MANIFEST);
        boolean anyPart;
        try (Stream<Path> files = Files.list(output)) {
            anyPart = files.anyMatch(f -> f.getFileName().toString().matches("part-\\d{5,}\\.(jsonl|parquet)"));
        }
        if (!anyPart) {
            ObjectNode manifest = cut.deepCopy();
            manifest.set(OPTIONS, options);
            AtomicFiles.write(file, (mapper.writerWithDefaultPrettyPrinter().writeValueAsString(manifest) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            return;
        }
        JsonNode previous = Files.exists(file) ? mapper.readTree(Files.readString(file)) : null;
        ObjectNode previousCut = previous instanceof ObjectNode o ? o.deepCopy() : null;
        if (previousCut != null) {
            previousCut.remove(OPTIONS);
        }
        if (previousCut == null || !previousCut.equals(cut)) {
            throw new BadInputException("--output " + output + " holds part files of another run ("
                    + (previousCut == null ? "no " + MANIFEST : describe(previousCut)) + "), not of " + describe(cut)
                    + ": resuming would judge some pairs twice; give a new --output, or the same input, --partitions "
                    + "and --output-format");
        }
        JsonNode started = previous.get(OPTIONS);
        List<String> diffs = SettingsDiff.between(started != null ? started : mapper.createObjectNode(), options);
        if (diffs.isEmpty()) {
            return;
        }
        String what = "--output " + output + " was started with other judging options (" + String.join("; ", diffs) + ")";
        if (!force) {
            throw new BadInputException(what + ": rerun with those options to resume it, give --force to resume it "
                    + "with these (its records would then mix the two), or give a new --output");
        }
        err.println("reflectrm-j: " + what + "; resuming anyway (--force)");
    }

    private static String describe(JsonNode cut) {
        return cut.get("partitions") + " partitions of " + cut.get("input_lines") + " lines, input sha256 "
                + cut.path("input_sha256").asText() + ", " + cut.path("output_format").asText("jsonl") + " parts";
    }
}
