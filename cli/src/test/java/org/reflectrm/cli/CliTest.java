package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.qwen3.Qwen3Presets;
import org.reflectrm.model.safetensors.Checkpoint;
import org.reflectrm.model.safetensors.SafetensorsFile;
import org.reflectrm.model.safetensors.TensorEntry;

/**
 * The command line, run in-process through {@link Main#run}: results checked against the
 * transformers fixtures, and every kind of bad input answered with exit code 2 and one message,
 * without a stack trace unless --verbose.
 */
class CliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Surefire runs with the module folder as working directory. */
    private static final Path FIXTURES = Path.of("../model/src/test/resources/fixtures");
    private static final String F32 = FIXTURES.resolve("tiny-f32-untied").toString();

    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("stdout is not JSON: " + out, e);
            }
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = Main.run(args, o, e);
        }
        return new Run(code, out.toString(), err.toString());
    }

    static Run ok(String... args) {
        Run r = run(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + " failed:\n" + r.err());
        return r;
    }

    /** Exit code 2, every fragment in stderr, nothing on stdout, no stack trace. */
    static Run bad(List<String> args, String... fragments) {
        Run r = run(args.toArray(String[]::new));
        String cmd = String.join(" ", args);
        assertEquals(2, r.code(), () -> cmd + ": exit code, stderr:\n" + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), () -> cmd + ": stderr lacks '" + f + "':\n" + r.err());
        }
        assertFalse(r.err().contains("\tat "), () -> cmd + ": stack trace without --verbose:\n" + r.err());
        assertFalse(r.err().contains("Exception"), () -> cmd + ": exception class name shown:\n" + r.err());
        assertEquals("", r.out(), () -> cmd + ": wrote to stdout");
        return r;
    }

    static List<String> args(String... a) {
        return List.of(a);
    }

    static JsonNode expected(String fixture) throws IOException {
        return JSON.readTree(FIXTURES.resolve(fixture).resolve("expected.json").toFile());
    }

    static String ids(JsonNode array) {
        List<String> s = new ArrayList<>();
        array.forEach(n -> s.add(n.asText()));
        return String.join(",", s);
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private Path copyFixture(String name) throws IOException {
        Path dir = Files.createTempDirectory(tmp, name);
        try (Stream<Path> files = Files.list(FIXTURES.resolve(name))) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("expected.json")) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
        }
        return dir;
    }

    // ---------------------------------------------------------------- info

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void infoJson(String name) throws IOException {
        Path dir = FIXTURES.resolve(name);
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        JsonNode o = ok("info", "--model", dir.toString(), "--json").json();
        long numel = 0;
        Map<String, Long> byDtype = new TreeMap<>();
        boolean headStored;
        long bytes;
        try (Checkpoint c = Checkpoint.open(dir)) {
            for (TensorEntry e : c.tensors().values()) {
                numel += e.numel();
                byDtype.merge(e.dtype().name(), e.numel(), Long::sum);
            }
            headStored = c.find("lm_head.weight").isPresent();
            bytes = c.totalBytes();
        }
        assertEquals(numel, o.get("parameters").asLong(), "parameters = sum of numel of the stored tensors");
        Map<String, Long> reported = new TreeMap<>();
        o.get("parameters_by_dtype").properties().forEach(e -> reported.put(e.getKey(), e.getValue().asLong()));
        assertEquals(byDtype, reported);
        assertEquals(bytes, o.get("weight_bytes").asLong());
        assertEquals(dir.toString(), o.get("model").asText());
        for (String[] field : new String[][] {{"layers", "num_hidden_layers"}, {"hidden_size", "hidden_size"},
                {"intermediate_size", "intermediate_size"}, {"attention_heads", "num_attention_heads"},
                {"kv_heads", "num_key_value_heads"}, {"head_dim", "head_dim"}, {"vocab_size", "vocab_size"},
                {"max_position_embeddings", "max_position_embeddings"}}) {
            assertEquals(config.get(field[1]).asInt(), o.get(field[0]).asInt(), field[0]);
        }
        assertEquals(config.get("rope_theta").asDouble(), o.get("rope_theta").asDouble());
        assertEquals(config.get("rms_norm_eps").asDouble(), o.get("rms_norm_eps").asDouble());
        assertEquals(config.get("tie_word_embeddings").asBoolean(), o.get("tie_word_embeddings").asBoolean());
        assertEquals(headStored ? "stored lm_head.weight" : "tied to embed_tokens", o.get("lm_head").asText());
        long kvBytes = 2L * config.get("num_hidden_layers").asInt() * config.get("num_key_value_heads").asInt()
                * config.get("head_dim").asInt() * 4;
        assertEquals(kvBytes, o.get("kv_cache_bytes_per_token").asLong());
        assertTrue(o.get("decode_bytes_per_token").asLong() > 0);
    }

    @Test
    void infoText() {
        Run r = ok("info", "--model", F32);
        assertTrue(r.out().contains("2 layers"), r.out());
        assertTrue(r.out().contains("stored lm_head.weight"), r.out());
        assertTrue(r.out().contains("parameters"), r.out());
    }

    // ---------------------------------------------------------------- logits

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-f16-sharded"})
    void logitsMatchTransformers(String name) throws IOException {
        JsonNode exp = expected(name);
        JsonNode prompt = exp.get("prompts").get(0);
        JsonNode rows = ok("logits", "--model", FIXTURES.resolve(name).toString(), "--threads", "2", "--json",
                "--tokens", ids(prompt)).json().get("logits");
        JsonNode want = exp.get("logits").get(0);
        assertEquals(prompt.size(), rows.size(), "one row per position");
        double worst = 0;
        for (int p = 0; p < rows.size(); p++) {
            assertEquals(want.get(p).size(), rows.get(p).size(), "vocab entries at position " + p);
            for (int v = 0; v < rows.get(p).size(); v++) {
                worst = Math.max(worst, Math.abs(rows.get(p).get(v).asDouble() - want.get(p).get(v).asDouble()));
            }
        }
        assertTrue(worst <= 1e-4, "max |Δlogit| " + worst);
    }

    @Test
    void logitsText() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        JsonNode prompt = exp.get("prompts").get(0);
        Run r = ok("logits", "--model", F32, "--tokens", ids(prompt), "--top", "1");
        String[] lines = r.out().strip().split("\n");
        assertEquals(prompt.size(), lines.length);
        // The best token of the last prompt position is the first greedy token.
        int greedy0 = exp.get("greedy").get(0).get(0).asInt();
        assertTrue(lines[lines.length - 1].contains(" " + greedy0 + "="), lines[lines.length - 1]);
    }

    // ---------------------------------------------------------------- generate

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32-untied", "tiny-bf16-tied", "tiny-f16-sharded", "tiny-bf16-tied-lmhead"})
    void greedyMatchesTransformers(String name) throws IOException {
        JsonNode exp = expected(name);
        for (int p = 0; p < exp.get("prompts").size(); p++) {
            JsonNode o = ok("generate", "--model", FIXTURES.resolve(name).toString(), "--threads", "2", "--greedy",
                    "--json", "--max-new", "10", "--ignore-eos", "--tokens", ids(exp.get("prompts").get(p))).json();
            assertArrayEquals(ints(exp.get("greedy").get(p)), ints(o.get("tokens")), name + " prompt " + p);
            assertEquals(10, o.get("logprobs").size());
            o.get("logprobs").forEach(lp -> assertTrue(lp.asDouble() <= 0 && lp.asDouble() > -50, "logprob " + lp));
            assertEquals("length", o.get("finish_reason").asText());
        }
    }

    /** {@code --kv-cache bf16} reaches the model: the greedy tokens are transformers' with BF16 keys and values. */
    @Test
    void aBf16KvCacheGivesTransformersBf16CacheTokens() throws IOException {
        for (String name : new String[] {"tiny-f32-untied", "tiny-f16-sharded"}) {
            JsonNode exp = JSON.readTree(FIXTURES.resolve(name).resolve("expected-bf16-kv.json").toFile());
            for (int p = 0; p < exp.get("prompts").size(); p++) {
                Run r = ok("generate", "--model", FIXTURES.resolve(name).toString(), "--greedy", "--max-new", "10",
                        "--ignore-eos", "--kv-cache", "bf16", "--tokens", ids(exp.get("prompts").get(p)));
                assertEquals(ids(exp.get("greedy").get(p)), r.out().strip(), name + " prompt " + p);
            }
        }
        bad(args("generate", "--model", F32, "--max-new", "2", "--kv-cache", "f16", "--tokens", "1,2"),
                "--kv-cache must be f32 or bf16, got f16");
    }

    @Test
    void generateTextIsCommaSeparatedTokens() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        Run r = ok("generate", "--model", F32, "--greedy", "--max-new", "10", "--ignore-eos",
                "--tokens", ids(exp.get("prompts").get(1)));
        assertEquals(ids(exp.get("greedy").get(1)), r.out().strip());
    }

    @Test
    void withoutGenerationConfigDecodingIsGreedy() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        Run r = ok("generate", "--model", F32, "--max-new", "10", "--tokens", ids(exp.get("prompts").get(0)));
        assertEquals(ids(exp.get("greedy").get(0)), r.out().strip(), "eos never appears on the greedy path");
    }

    private static final String[] SAMPLING = {"--temperature", "0.8", "--top-k", "20", "--top-p", "0.9"};

    private static Run sample(String model, String seed) throws IOException {
        List<String> a = new ArrayList<>(List.of("generate", "--model", model, "--json", "--max-new", "10",
                "--ignore-eos", "--tokens", ids(expected("tiny-f32-untied").get("prompts").get(0)), "--seed", seed));
        a.addAll(List.of(SAMPLING));
        return ok(a.toArray(String[]::new));
    }

    @Test
    void seededSamplingIsDeterministicAndSeedDependent() throws IOException {
        Run a = sample(F32, "7");
        Run b = sample(F32, "7");
        assertEquals(a.out(), b.out(), "same seed, same tokens and logprobs");
        // About 10 tokens survive the filters at each step: 10 equal draws under another seed are
        // practically impossible.
        Run c = sample(F32, "8");
        assertNotEquals(a.json().get("tokens"), c.json().get("tokens"));
        // Thread count does not change the draw.
        List<String> oneThread = new ArrayList<>(List.of("generate", "--model", F32, "--json", "--max-new", "10",
                "--ignore-eos", "--tokens", ids(expected("tiny-f32-untied").get("prompts").get(0)), "--seed", "7",
                "--threads", "1"));
        oneThread.addAll(List.of(SAMPLING));
        assertEquals(a.json().get("tokens"), ok(oneThread.toArray(String[]::new)).json().get("tokens"));
        assertNotEquals(expected("tiny-f32-untied").get("greedy").get(0), a.json().get("tokens"),
                "sampling differs from greedy");
    }

    @Test
    void sameCommandSameBytes() throws IOException {
        // DESIGN: with a seed and the CPU backend, the same command gives the same bytes. Repeated
        // in one JVM, the later runs use JIT-compiled kernels, which must not change the sums.
        String prompt = ids(expected("tiny-f16-sharded").get("prompts").get(1));
        String model = FIXTURES.resolve("tiny-f16-sharded").toString();
        String first = null;
        for (int i = 0; i < 6; i++) {
            List<String> a = new ArrayList<>(List.of("generate", "--model", model, "--json", "--max-new", "40",
                    "--ignore-eos", "--seed", "11", "--tokens", prompt));
            a.addAll(List.of(SAMPLING));
            String out = ok(a.toArray(String[]::new)).out();
            String logits = ok("logits", "--model", model, "--json", "--tokens", prompt).out();
            if (first == null) {
                first = out + logits;
            } else {
                assertEquals(first, out + logits, "run " + i + " differs from run 0");
            }
        }
    }

    @Test
    void stopTokenEndsGeneration() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        int[] greedy = ints(exp.get("greedy").get(0));
        int stop = greedy[3];
        int first = 0;
        while (greedy[first] != stop) {
            first++;
        }
        int[] want = Arrays.copyOf(greedy, first + 1);
        int other = 0; // a second stop id that never comes up
        while (contains(greedy, other)) {
            other++;
        }
        for (boolean ignoreEos : new boolean[] {false, true}) {
            List<String> a = new ArrayList<>(List.of("generate", "--model", F32, "--greedy", "--json", "--max-new",
                    "10", "--tokens", ids(exp.get("prompts").get(0)), "--stop", other + "," + stop));
            if (ignoreEos) {
                a.add("--ignore-eos");
            }
            JsonNode o = ok(a.toArray(String[]::new)).json();
            assertArrayEquals(want, ints(o.get("tokens")), "stops after the stop token, which is kept");
            assertEquals("stop", o.get("finish_reason").asText());
            assertEquals(want.length, o.get("logprobs").size());
        }
    }

    @Test
    void eosFromConfigAndGenerationConfig() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        int[] greedy = ints(exp.get("greedy").get(0));
        String prompt = ids(exp.get("prompts").get(0));
        Path dir = copyFixture("tiny-f32-untied");
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("eos_token_id", greedy[2]);
        Files.writeString(dir.resolve("config.json"), config.toString());
        JsonNode o = ok("generate", "--model", dir.toString(), "--greedy", "--json", "--max-new", "10",
                "--tokens", prompt).json();
        assertEquals("stop", o.get("finish_reason").asText());
        assertEquals(greedy[2], o.get("tokens").get(o.get("tokens").size() - 1).asInt());
        o = ok("generate", "--model", dir.toString(), "--greedy", "--json", "--max-new", "10", "--ignore-eos",
                "--tokens", prompt).json();
        assertArrayEquals(greedy, ints(o.get("tokens")));

        // generation_config.json's eos_token_id wins over config.json's, as in transformers.
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [" + greedy[5] + ", 9999]}");
        o = ok("generate", "--model", dir.toString(), "--json", "--max-new", "10", "--tokens", prompt).json();
        int[] tokens = ints(o.get("tokens"));
        assertEquals(greedy[5], tokens[tokens.length - 1]);
        assertTrue(tokens.length <= 6);
        assertEquals("stop", o.get("finish_reason").asText());
    }

    @Test
    void generationConfigSamplingDefaults() throws IOException {
        JsonNode exp = expected("tiny-f32-untied");
        String prompt = ids(exp.get("prompts").get(0));
        Path dir = copyFixture("tiny-f32-untied");
        Files.writeString(dir.resolve("generation_config.json"),
                "{\"do_sample\": true, \"temperature\": 0.8, \"top_k\": 20, \"top_p\": 0.9}");
        String defaults = ok("generate", "--model", dir.toString(), "--json", "--max-new", "10", "--ignore-eos",
                "--seed", "7", "--tokens", prompt).out();
        assertEquals(sample(F32, "7").out(), defaults, "generation_config.json supplies the same sampling settings");
        JsonNode greedy = ok("generate", "--model", dir.toString(), "--json", "--max-new", "10", "--ignore-eos",
                "--greedy", "--tokens", prompt).json();
        assertEquals(exp.get("greedy").get(0), greedy.get("tokens"), "--greedy overrides do_sample");
    }

    @Test
    void maxNewZeroGeneratesNothing() {
        JsonNode o = ok("generate", "--model", F32, "--greedy", "--json", "--max-new", "0", "--tokens", "1,2").json();
        assertEquals(0, o.get("tokens").size());
        assertEquals("length", o.get("finish_reason").asText());
    }

    // ---------------------------------------------------------------- errors

    @Test
    void missingModelFolder() {
        String missing = tmp.resolve("no-such-model").toString();
        bad(args("info", "--model", missing), missing);
        bad(args("generate", "--model", missing, "--tokens", "1"), missing);
        bad(args("logits", "--model", missing, "--tokens", "1"), missing);
    }

    @Test
    void modelFolderWithoutConfig() throws IOException {
        Path dir = copyFixture("tiny-f32-untied");
        Files.delete(dir.resolve("config.json"));
        bad(args("info", "--model", dir.toString()), dir.resolve("config.json").toString());
        bad(args("generate", "--model", dir.toString(), "--tokens", "1"), "config.json");
    }

    @Test
    void modelFolderWithoutWeights() throws IOException {
        Path dir = copyFixture("tiny-f32-untied");
        Files.delete(dir.resolve("model.safetensors"));
        bad(args("info", "--model", dir.toString()), dir.toString(), "model.safetensors");
    }

    @Test
    void truncatedWeights() throws IOException {
        Path dir = copyFixture("tiny-f32-untied");
        Path file = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(f.length() - 4);
        }
        bad(args("generate", "--model", dir.toString(), "--tokens", "1"), file.toString(), "truncated");
    }

    @Test
    void configThatDisagreesWithTheWeights() throws IOException {
        Path dir = copyFixture("tiny-f32-untied");
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        config.put("intermediate_size", 97);
        Files.writeString(dir.resolve("config.json"), config.toString());
        bad(args("info", "--model", dir.toString()), "model.layers.0.mlp.gate_proj.weight", "[96, 64]", "[97, 64]");
        config.put("intermediate_size", 96).put("hidden_act", "gelu");
        Files.writeString(dir.resolve("config.json"), config.toString());
        bad(args("info", "--model", dir.toString()), "config.json", "hidden_act", "gelu");
    }

    @Test
    void tokenOutsideTheVocabulary() {
        bad(args("logits", "--model", F32, "--tokens", "1,512"), "--tokens", "item 2", "512", "vocabulary", F32, "511");
        bad(args("generate", "--model", F32, "--tokens", "5,2,99999"), "--tokens", "item 3", "99999", "vocabulary");
        bad(args("generate", "--model", F32, "--tokens", "2147483648"), "--tokens", "2147483648");
    }

    @Test
    void malformedTokenList() {
        bad(args("generate", "--model", F32, "--tokens", "1,x,3"), "--tokens", "'x'");
        bad(args("logits", "--model", F32, "--tokens", "1,,3"), "--tokens");
        bad(args("logits", "--model", F32, "--tokens", "-4"), "--tokens", "-4");
        bad(args("logits", "--model", F32, "--tokens", "1.5"), "--tokens", "1.5");
        bad(args("logits", "--model", F32, "--tokens", ""), "--tokens");
    }

    @Test
    void contradictorySamplingFlags() {
        bad(args("generate", "--model", F32, "--tokens", "1", "--greedy", "--temperature", "0.7"),
                "--greedy", "--temperature");
        bad(args("generate", "--model", F32, "--tokens", "1", "--greedy", "--top-k", "5"), "--greedy");
    }

    @Test
    void outOfRangeSamplingFlags() {
        bad(args("generate", "--model", F32, "--tokens", "1", "--top-p", "1.5"), "--top-p", "1.5");
        bad(args("generate", "--model", F32, "--tokens", "1", "--top-p", "0"), "--top-p");
        bad(args("generate", "--model", F32, "--tokens", "1", "--temperature", "0"), "--temperature", "--greedy");
        bad(args("generate", "--model", F32, "--tokens", "1", "--temperature", "-1"), "--temperature");
        bad(args("generate", "--model", F32, "--tokens", "1", "--temperature", "Infinity"), "--temperature");
        bad(args("generate", "--model", F32, "--tokens", "1", "--top-k", "-3"), "--top-k", "-3");
        bad(args("generate", "--model", F32, "--tokens", "1", "--min-p", "2"), "--min-p", "2");
        bad(args("generate", "--model", F32, "--tokens", "1", "--max-new", "-1"), "--max-new");
        bad(args("generate", "--model", F32, "--tokens", "1", "--max-new", "1000"), "max_position_embeddings");
    }

    @Test
    void badGenerationConfigIsNamed() throws IOException {
        Path dir = copyFixture("tiny-f32-untied");
        Path gen = Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": true, \"temperature\": 0}");
        bad(args("generate", "--model", dir.toString(), "--tokens", "1"), gen.toString(), "temperature");
        // A flag that replaces the bad default makes it usable.
        ok("generate", "--model", dir.toString(), "--tokens", "1", "--max-new", "2", "--temperature", "0.5");
        ok("generate", "--model", dir.toString(), "--tokens", "1", "--max-new", "2", "--greedy");
        Files.writeString(gen, "{\"do_sample\": tru");
        bad(args("generate", "--model", dir.toString(), "--tokens", "1"), gen.toString());
    }

    @Test
    void threadsMustBePositive() {
        bad(args("generate", "--model", F32, "--tokens", "1", "--threads", "0"), "--threads");
        bad(args("logits", "--model", F32, "--tokens", "1", "--threads", "-2"), "--threads");
        bad(args("logits", "--model", F32, "--tokens", "1", "--threads", "two"), "--threads", "two");
    }

    @Test
    void unknownOptionAndCommand() {
        bad(args("info", "--model", F32, "--frobnicate"), "--frobnicate");
        bad(args("generate", "--model", F32), "--tokens");
        bad(args("frobnicate"), "frobnicate");
    }

    @Test
    void verboseShowsTheStackTrace() {
        Run r = run("generate", "--model", F32, "--tokens", "1,x", "--verbose");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
        assertTrue(r.err().contains("'x'"), r.err());
        Run init = run("init", "--preset", "nope", "--out", tmp.resolve("v").toString(), "--verbose");
        assertEquals(2, init.code());
        assertTrue(init.err().contains("\tat "), init.err());
    }

    @Test
    void helpAndVersion() {
        assertTrue(ok("--version").out().contains("reflectrm-j"));
        for (String cmd : new String[] {"info", "logits", "generate", "tokenize", "chat-template", "init", "bench"}) {
            assertTrue(ok(cmd, "--help").out().contains("Usage"), cmd);
        }
    }

    // ---------------------------------------------------------------- init

    @Test
    void initRejectsBadFlags() throws IOException {
        Path out = tmp.resolve("m");
        bad(args("init", "--preset", "tiny", "--dtype", "int8", "--out", out.toString()), "--dtype", "int8");
        bad(args("init", "--preset", "nope", "--out", out.toString()), "--preset", "nope", "tiny");
        assertFalse(Files.exists(out), "nothing written on bad input");

        Path full = Files.createDirectories(tmp.resolve("full"));
        Path keep = Files.writeString(full.resolve("notes.txt"), "keep me");
        bad(args("init", "--preset", "tiny", "--out", full.toString()), full.toString(), "--force");
        assertEquals("keep me", Files.readString(keep));
        try (Stream<Path> files = Files.list(full)) {
            assertEquals(List.of(keep), files.toList());
        }

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        bad(args("init", "--preset", "tiny", "--out", file.toString()), file.toString());
        assertEquals("x", Files.readString(file));
    }

    @Test
    void initWritesALoadableTransformersFolder() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        Path c = tmp.resolve("c");
        Run r = ok("init", "--preset", "tiny", "--dtype", "f32", "--seed", "1", "--out", a.toString());
        assertEquals(a.toAbsolutePath().toString(), r.out().strip());
        ok("init", "--preset", "tiny", "--dtype", "f32", "--seed", "1", "--out", b.toString());
        ok("init", "--preset", "tiny", "--dtype", "f32", "--seed", "2", "--out", c.toString());

        byte[] weights = Files.readAllBytes(a.resolve("model.safetensors"));
        assertArrayEquals(weights, Files.readAllBytes(b.resolve("model.safetensors")), "same seed, same bytes");
        assertArrayEquals(Files.readAllBytes(a.resolve("config.json")), Files.readAllBytes(b.resolve("config.json")));
        byte[] other = Files.readAllBytes(c.resolve("model.safetensors"));
        assertEquals(weights.length, other.length);
        assertFalse(Arrays.equals(weights, other), "another seed, other weights");

        // transformers' layout: config.json, generation_config.json, one model.safetensors without lm_head,
        // and the Qwen3 tokenizer (so --prompt works on random checkpoints).
        try (Stream<Path> files = Files.list(a)) {
            assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                            "tokenizer_config.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(11_422_654L, Files.size(a.resolve("tokenizer.json")), "the official Qwen3 tokenizer.json");
        assertEquals("9707,11,1879,0\n", ok("tokenize", "--tokenizer", a.toString(), "--text", "Hello, world!").out());
        JsonNode config = JSON.readTree(a.resolve("config.json").toFile());
        assertEquals("qwen3", config.get("model_type").asText());
        assertEquals("Qwen3ForCausalLM", config.get("architectures").get(0).asText());
        assertTrue(config.get("tie_word_embeddings").asBoolean());
        assertEquals(2, config.get("num_hidden_layers").asInt());
        assertEquals(64, config.get("hidden_size").asInt());
        assertEquals(151936, config.get("vocab_size").asInt());
        assertEquals("float32", config.get("torch_dtype").asText());
        assertFalse(config.get("use_sliding_window").asBoolean());
        try (SafetensorsFile f = SafetensorsFile.open(a.resolve("model.safetensors"))) {
            assertFalse(f.find("lm_head.weight").isPresent(), "tied: no lm_head tensor");
            assertEquals(2 * 11 + 2, f.tensors().size());
            assertTrue(f.tensors().containsKey("model.layers.1.self_attn.q_norm.weight"));
            assertFalse(f.tensors().keySet().stream().anyMatch(n -> n.startsWith("model.layers.2.")));
            f.tensors().values().forEach(t -> assertEquals(DType.F32, t.dtype(), t.name()));
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
        JsonNode gen = JSON.readTree(a.resolve("generation_config.json").toFile());
        assertTrue(gen.get("eos_token_id").isArray());

        JsonNode info = ok("info", "--model", a.toString(), "--json").json();
        assertEquals(2, info.get("layers").asInt());
        assertEquals("tied to embed_tokens", info.get("lm_head").asText());
        assertEquals(Qwen3Presets.config("tiny", "float32").parameterCount(false), info.get("parameters").asLong());
        assertEquals(List.of("F32"), iterable(info.get("parameters_by_dtype").fieldNames()));
        assertEquals(info.get("parameters").asLong(), info.get("parameters_by_dtype").get("F32").asLong());

        JsonNode g1 = ok("generate", "--model", a.toString(), "--json", "--greedy", "--max-new", "5", "--ignore-eos",
                "--tokens", "151644,872,198").json();
        assertEquals(5, g1.get("tokens").size());
        JsonNode g2 = ok("generate", "--model", b.toString(), "--json", "--greedy", "--max-new", "5", "--ignore-eos",
                "--tokens", "151644,872,198").json();
        assertEquals(g1, g2, "same weights, same output");
        // The default (generation_config.json: do_sample) samples; seeded, it is reproducible.
        String s1 = ok("generate", "--model", a.toString(), "--max-new", "5", "--ignore-eos", "--seed", "3",
                "--tokens", "1,2,3").out();
        assertEquals(s1, ok("generate", "--model", a.toString(), "--max-new", "5", "--ignore-eos", "--seed", "3",
                "--tokens", "1,2,3").out());
    }

    @Test
    void initBf16AndForce() throws IOException {
        Path d = tmp.resolve("d");
        ok("init", "--preset", "tiny", "--dtype", "bf16", "--out", d.toString());
        JsonNode info = ok("info", "--model", d.toString(), "--json").json();
        assertTrue(info.get("parameters_by_dtype").has("BF16"), info.toString());
        assertEquals("bfloat16", JSON.readTree(d.resolve("config.json").toFile()).get("torch_dtype").asText());

        // --force replaces the model files, and weight files of an earlier (sharded) save do not survive
        // to contradict the new ones: an index would take precedence over model.safetensors.
        Files.writeString(d.resolve("model.safetensors.index.json"),
                "{\"metadata\": {}, \"weight_map\": {\"model.embed_tokens.weight\": \"model-00001-of-00002.safetensors\"}}");
        Files.writeString(d.resolve("model-00002-of-00002.safetensors"), "stale");
        Files.writeString(d.resolve("README.md"), "mine");
        bad(args("init", "--preset", "tiny", "--dtype", "f16", "--out", d.toString()), "--force");
        ok("init", "--preset", "tiny", "--dtype", "f16", "--out", d.toString(), "--force");
        assertFalse(Files.exists(d.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(d.resolve("model-00002-of-00002.safetensors")));
        assertEquals("mine", Files.readString(d.resolve("README.md")), "other files are kept");
        info = ok("info", "--model", d.toString(), "--json").json();
        assertEquals(List.of("F16"), iterable(info.get("parameters_by_dtype").fieldNames()));
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void everyCommandFailsCleanlyOnAMissingModel() {
        String missing = tmp.resolve("nothing").toString();
        for (String cmd : new String[] {"info", "logits", "generate"}) {
            List<String> a = new ArrayList<>(List.of(cmd, "--model", missing));
            if (!cmd.equals("info")) {
                a.addAll(List.of("--tokens", "1"));
            }
            Run r = bad(a, missing);
            assertEquals(1, r.err().strip().lines().count(), () -> "one line:\n" + r.err());
        }
        Run r = bad(args("bench", "--model", missing), missing);
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(x -> x == v);
    }
}
