package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.SettingsDiff;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.SafetensorsWriter;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.tensor.Tensor;
import org.reflectrm.tensor.optim.Optimizer;

/**
 * What a run needs to continue exactly where it stopped, in {@code OUT/trainer_state/}: the
 * trainable parameters in F32 ({@code params-<step>.safetensors}), the optimizer's moments
 * ({@code optimizer-<step>.safetensors}) and {@code state.json} (step, options). Each file is
 * written atomically and {@code state.json}, which names the other two, goes last: a crash at
 * any moment leaves either the previous complete state or the new one, never a mix. Random
 * streams (data order, dropout masks) are functions of the seed and the step, so the step is
 * all the RNG state there is. The files do not depend on the device that trained: a GPU's
 * parameters and moments are downloaded as F32, so a run may resume on another device.
 */
final class TrainerState {
    static final String DIR = "trainer_state";
    private static final String STATE = "state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainerState() {
    }

    static boolean exists(Path out) {
        return Files.isRegularFile(out.resolve(DIR).resolve(STATE));
    }

    static void save(Path out, long step, long totalSteps, ObjectNode trajectory, ParameterSet params,
                     Optimizer optimizer) throws IOException {
        Path dir = out.resolve(DIR);
        Files.createDirectories(dir);
        String paramsFile = String.format("params-%08d.safetensors", step);
        String optimFile = String.format("optimizer-%08d.safetensors", step);
        // One download per tensor on a GPU (none on the host), freed once the file is written.
        try (Arena arena = Arena.ofConfined()) {
            List<TensorSource> values = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : params.all().entrySet()) {
                values.add(PeftAdapterFiles.source(arena, e.getKey(), e.getValue()));
            }
            SafetensorsWriter.write(dir.resolve(paramsFile), values, Map.of());
        }
        List<TensorSource> moments = new ArrayList<>();
        optimizer.saveState((name, segment) -> moments.add(
                new TensorSource(name, DType.F32, new long[] {segment.byteSize() / 4}, segment)));
        SafetensorsWriter.write(dir.resolve(optimFile), moments, Map.of());
        ObjectNode state = JSON.createObjectNode();
        state.put("format", 1);
        state.put("step", step);
        state.put("total_steps", totalSteps);
        state.put("optimizer_steps", optimizer.stepCount());
        state.put("params_file", paramsFile);
        state.put("optimizer_file", optimFile);
        state.set("options", trajectory);
        AtomicFiles.write(dir.resolve(STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
        // Only now are older state files unreferenced.
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (!name.equals(paramsFile) && !name.equals(optimFile)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /** Restores parameters and optimizer state; returns the step the saved run had completed. */
    static long load(Path out, ObjectNode trajectory, ParameterSet params, Optimizer optimizer) throws IOException {
        Path dir = out.resolve(DIR);
        JsonNode state = JSON.readTree(Files.readString(dir.resolve(STATE), StandardCharsets.UTF_8));
        JsonNode saved = state.path("options");
        List<String> diffs = SettingsDiff.between(saved, trajectory);
        if (!diffs.isEmpty()) {
            throw new BadInputException("--resume: the run in " + out + " used other settings (" + String.join("; ", diffs)
                    + "); resume with the same options or choose a new --out");
        }
        try (Checkpoint values = Checkpoint.open(dir.resolve(state.get("params_file").asText()));
             Checkpoint moments = Checkpoint.open(dir.resolve(state.get("optimizer_file").asText()))) {
            for (Map.Entry<String, Tensor> e : params.all().entrySet()) {
                TensorEntry stored = values.find(e.getKey()).orElseThrow(() -> new BadInputException(
                        dir + ": the saved state has no parameter '" + e.getKey() + "'"));
                Tensor p = e.getValue();
                if (stored.dtype() != DType.F32 || stored.numel() != p.numel()) {
                    throw new BadInputException(dir + ": saved parameter '" + e.getKey() + "' does not fit " + p);
                }
                p.write(stored.data());   // an upload on a GPU
            }
            optimizer.loadState(state.get("optimizer_steps").asLong(), name -> moments.find(name).map(TensorEntry::data)
                    .orElseThrow(() -> new BadInputException(dir + ": the saved optimizer state has no '" + name + "'")));
        }
        return state.get("step").asLong();
    }
}
