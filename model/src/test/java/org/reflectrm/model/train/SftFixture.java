package org.reflectrm.model.train;

import java.nio.file.Path;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.qwen3.Qwen3Presets;
import org.reflectrm.model.qwen3.RandomCheckpoint;
import org.reflectrm.model.train.data.SftBatcher;
import org.reflectrm.model.train.data.SftDataOptions;
import org.reflectrm.model.train.data.SftDataset;
import org.reflectrm.model.train.data.SftExample;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/** What the SFT tests train: a tiny random BF16 Qwen3 with the real tokenizer, and /sft/data.jsonl. */
final class SftFixture {
    private SftFixture() {
    }

    /** Writes the tiny model into {@code dir} and returns it. */
    static Path tinyModel(Path dir) throws java.io.IOException {
        RandomCheckpoint.write(Qwen3Presets.config("tiny", "bfloat16"), DType.BF16, 3, dir);
        return dir;
    }

    /** The examples of /sft/data.jsonl, tokenised with the chat template. */
    static List<SftExample> examples() throws Exception {
        Path data = Path.of(SftFixture.class.getResource("/sft/data.jsonl").toURI());
        return SftDataset.load(data, Tokenizer.qwen3(), Qwen3ChatTemplate.current(), SftDataOptions.lenient(256))
                .examples();
    }

    /** Cosine schedule with one warmup step, batches of 2, AdamW, clipping at 1.0, seed 5. */
    static TrainOptions options(long steps, double lr) {
        return new TrainOptions(steps, 1, lr, 2, 2, 256, SftBatcher.Mode.PAD, "cosine",
                1, 0.01, 0.9, 0.999, 1e-8, 1.0, 5, 0, 0, null, null, 0, false, "adamw", 0);
    }
}
