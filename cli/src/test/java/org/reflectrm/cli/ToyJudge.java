package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;

/**
 * A tiny judge for command tests: `init --preset tiny` over the 506-token toy tokenizer, then `train
 * sft` on judge prompts "Is i a number?" (responses "yes" and "no" in a random order) answered in
 * the judge's format, so that it writes parseable verdicts in seconds.
 */
final class ToyJudge {
    static final String TOKENIZER = Path.of("../reflect/src/test/resources/toy-tokenizer").toString();
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToyJudge() {
    }

    /**
     * Trains one into {@code dir/name}; {@code verdict} says which response (1 or 2) the answer to
     * example i names, drawing from the same random stream that placed "yes" first or second.
     */
    static String train(Path dir, String name, long initSeed, int examples, String analysis, int steps, Random rnd,
                        BiFunction<Integer, Random, Integer> verdict) throws IOException {
        String base = dir.resolve(name + "-init").toString();
        CliTest.ok("init", "--preset", "tiny", "--tokenizer", TOKENIZER, "--dtype", "f32", "--seed", Long.toString(initSeed),
                "--out", base);
        JudgeTemplate template = JudgeTemplate.bundled(JudgeTemplate.DEFAULT_VERSION);
        List<String> sft = new ArrayList<>();
        for (int i = 0; i < examples; i++) {
            boolean yesFirst = rnd.nextBoolean();
            String prompt = template.renderResponse("Is " + i + " a number?", yesFirst ? "yes" : "no", yesFirst ? "no" : "yes");
            String answer = "<Analysis>" + analysis + "</Analysis>\n<Result>"
                    + Verdict.Kind.RESPONSE.sentence(verdict.apply(i, rnd)) + "</Result>";
            sft.add(JSON.writeValueAsString(JSON.createObjectNode().set("messages", JSON.createArrayNode()
                    .add(JSON.createObjectNode().put("role", "user").put("content", prompt))
                    .add(JSON.createObjectNode().put("role", "assistant").put("content", answer)))));
        }
        Path data = dir.resolve(name + "-sft.jsonl");
        Files.write(data, sft);
        String judge = dir.resolve(name).toString();
        CliTest.ok("train", "sft", "--model", base, "--data", data.toString(), "--out", judge, "--steps", Integer.toString(steps),
                "--lr", "1e-2", "--schedule", "cosine", "--batch", "8", "--max-len", "256", "--seed", "1");
        return judge;
    }
}
