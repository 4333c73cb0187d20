package org.reflectrm.model.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.reflectrm.kernels.device.Transfers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one line per step ({@code step, epoch, loss, lr, grad_norm, tokens,
 * tokens_per_s}) and per evaluation ({@code step, eval_loss}), appended and flushed as they
 * happen, so a crashed run keeps its curve. Any JSONL log keyed by {@code step} works the same
 * way (GRPO's rollout log).
 */
public final class MetricsLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;

    public MetricsLog(Path file) {
        this.file = file;
    }

    /** A step's line; {@code moved}, the bytes it moved across the bus on a GPU, is null on the host. */
    void step(TrainingListener.StepMetrics m, Transfers.Count moved) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("step", m.step());
        o.put("epoch", m.epoch());
        o.put("loss", m.loss());
        o.put("lr", m.lr());
        o.put("grad_norm", m.gradNorm());
        o.put("tokens", m.tokens());
        o.put("tokens_per_s", m.tokensPerSecond());
        putTransfers(o, moved);
        append(o);
    }

    /** Adds {@code bytes_up} and {@code bytes_down} when {@code moved} is not null (a GPU step). */
    public static void putTransfers(ObjectNode line, Transfers.Count moved) {
        if (moved != null) {
            line.put("bytes_up", moved.uploadedBytes());
            line.put("bytes_down", moved.downloadedBytes());
        }
    }

    void eval(long step, double loss) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("step", step);
        o.put("eval_loss", loss);
        append(o);
    }

    /** Appends one line. */
    public void append(ObjectNode o) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (var out = new org.reflectrm.model.safetensors.RecordAppender(file)) {
            out.append(JSON.writeValueAsString(o) + "\n");
        }
    }

    /** On resume: drops lines of steps after the checkpoint, which the resumed run redoes. */
    public void truncateAfter(long step) throws IOException {
        if (!Files.isRegularFile(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            try {
                JsonNode n = JSON.readTree(line);
                if (n != null && n.path("step").asLong(Long.MAX_VALUE) <= step) {
                    kept.add(line);
                }
            } catch (IOException e) {
                // a torn last line from a crash: drop it
            }
        }
        Files.write(file, kept, StandardCharsets.UTF_8);
    }
}
