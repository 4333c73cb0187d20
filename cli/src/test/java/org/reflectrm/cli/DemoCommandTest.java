package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.tokenizer.Tokenizer;

/** demo data: the toy world's files are reproducible, disjoint across the split, and usable by init and train sft. */
class DemoCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    private static List<String> pairKeys(Path file) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            var pair = JSON.readTree(line);
            var u = org.reflectrm.reflect.toy.ToyDomain.understands(pair.get("prompt").asText()).orElseThrow();
            boolean arithmetic = pair.get("subset").asText().equals("add") || pair.get("subset").asText().equals("sub");
            out.add(u.key() + (arithmetic ? ":" + org.reflectrm.reflect.toy.ToyDomain.valueOf(pair.get("rejected").asText()) : ""));
        }
        return out;
    }

    @Test
    void theSameSeedWritesTheSameWorldAndItsModelTrains() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b");
        for (Path out : List.of(a, b)) {
            CliTest.ok("demo", "data", "--out", out.toString(), "--seed", "7", "--train-pairs", "300", "--held-out-pairs", "60",
                    "--rl-pairs", "40");
        }
        for (String file : List.of("pairs-train.jsonl", "pairs-rl.jsonl", "pairs-heldout.jsonl", "sft.jsonl", "tokenizer/tokenizer.json",
                "tokenizer/tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(file)), Files.readAllBytes(b.resolve(file)), file);
        }
        assertEquals(300, Files.readAllLines(a.resolve("pairs-train.jsonl")).size());
        assertEquals(60, Files.readAllLines(a.resolve("pairs-heldout.jsonl")).size());
        // Held-out pairs are unseen: comparisons and counts by question, sums and differences by
        // question and wrong value (docs/toy-world.md, "Split").
        Set<String> train = new HashSet<>(pairKeys(a.resolve("pairs-train.jsonl")));
        assertTrue(pairKeys(a.resolve("pairs-heldout.jsonl")).stream().noneMatch(train::contains), "held-out pairs are unseen");
        // The RL pairs are further training-split pairs: new ids, never a held-out question.
        assertEquals(40, Files.readAllLines(a.resolve("pairs-rl.jsonl")).size());
        Set<String> ids = new HashSet<>();
        for (Path f : List.of(a.resolve("pairs-train.jsonl"), a.resolve("pairs-rl.jsonl"))) {
            for (String line : Files.readAllLines(f)) {
                assertTrue(ids.add(JSON.readTree(line).get("id").asText()), line);
            }
        }
        Set<String> heldOut = new HashSet<>(pairKeys(a.resolve("pairs-heldout.jsonl")));
        assertTrue(pairKeys(a.resolve("pairs-rl.jsonl")).stream().noneMatch(heldOut::contains), "RL pairs are training pairs");
        // The Java-trained tokenizer loads, keeps the chat tokens whole and round-trips the teacher's text.
        Tokenizer t = Tokenizer.load(a.resolve("tokenizer"));
        String target = JSON.readTree(Files.readAllLines(a.resolve("sft.jsonl")).getFirst()).get("messages").get(1).get("content").asText();
        assertEquals(target, t.decode(t.encode(target), false));
        assertEquals(1, t.encode("<|im_end|>").length);
        // Qwen3's split by default: every digit its own token. With --split llama3 and room for the
        // merges, the numbers of the sums become single tokens.
        assertEquals(2, t.encode("12").length);
        Path q = dir.resolve("q");
        CliTest.ok("demo", "data", "--out", q.toString(), "--seed", "7", "--train-pairs", "300", "--held-out-pairs", "60",
                "--split", "llama3", "--vocab", "800");
        String pre = JSON.readTree(q.resolve("tokenizer/tokenizer.json").toFile()).get("pre_tokenizer").toString();
        assertTrue(pre.contains(JSON.writeValueAsString(org.reflectrm.tokenizer.BpeTrainer.LLAMA3_SPLIT_REGEX)), pre);
        assertEquals(1, Tokenizer.load(q.resolve("tokenizer")).encode("12").length);
        String model = dir.resolve("model").toString();
        CliTest.ok("init", "--preset", "tiny", "--tokenizer", a.resolve("tokenizer").toString(), "--dtype", "f32", "--out", model);
        CliTest.Run sft = CliTest.ok("train", "sft", "--model", model, "--data", a.resolve("sft.jsonl").toString(), "--out",
                dir.resolve("sft").toString(), "--steps", "1", "--batch", "2", "--max-len", "512", "--strict");
        // 300 judge examples, plus a fact example for about a quarter of the pairs
        long examples = Files.readAllLines(a.resolve("sft.jsonl")).size();
        assertTrue(examples > 330 && examples < 420, "examples: " + examples);
        assertTrue(sft.err().contains(examples + " examples"), sft.err());
        CliTest.bad(List.of("demo", "data", "--out", dir.resolve("c").toString(), "--vocab", "10"), "--vocab");
    }
}
