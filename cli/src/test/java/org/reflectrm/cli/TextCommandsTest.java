package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.reflectrm.cli.CliTest.args;
import static org.reflectrm.cli.CliTest.bad;
import static org.reflectrm.cli.CliTest.ints;
import static org.reflectrm.cli.CliTest.ok;
import static org.reflectrm.cli.CliTest.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * The text commands (tokenize, chat-template) and the text paths of generate and logits, in-process through
 * {@link Main#run}. Expected ids and renderings are copied from qwen3-spec.md (sections 3.5, 3.6, 4.2), which
 * were produced by Hugging Face tokenizers/transformers, not by this code.
 */
class TextCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A folder with the bundled Qwen3 tokenizer only. */
    private static Path qwen3;
    /** {@code init --preset tiny --dtype f32}: random weights, Qwen3 vocabulary, tokenizer written by init. */
    private static Path tiny;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void folders() throws IOException {
        qwen3 = shared.resolve("qwen3-tokenizer");
        Tokenizer.writeQwen3Files(qwen3);
        tiny = shared.resolve("tiny");
        ok("init", "--preset", "tiny", "--dtype", "f32", "--seed", "4", "--out", tiny.toString());
    }

    private static String q() {
        return qwen3.toString();
    }

    /** Runs with {@code stdin} as standard input. */
    private static CliTest.Run runWithStdin(byte[] stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = Main.run(args, new ByteArrayInputStream(stdin), o, e);
        }
        return new CliTest.Run(code, out.toString(), err.toString());
    }

    private static String csv(int... ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    // ---------------------------------------------------------------- tokenize --text

    @Test
    void tokenizeTextGivesHfIds() {
        // qwen3-spec T01
        assertEquals("9707,11,1879,0\n", ok("tokenize", "--tokenizer", q(), "--text", "Hello, world!").out());
        JsonNode o = ok("tokenize", "--tokenizer", q(), "--text", "Hello, world!", "--json").json();
        assertArrayEquals(new int[] {9707, 11, 1879, 0}, ints(o.get("ids")));
        assertEquals(JSON.valueToTree(List.of("Hello", ",", "\u0120world", "!")), o.get("tokens"));
        // T03, non-ASCII through the command line
        assertEquals("108386,3837,99489,6313,100644,104307,104472,11319\n", ok("tokenize", "--tokenizer", q(), "--text",
                "\u4F60\u597D\uFF0C\u4E16\u754C\uFF01\u4ECA\u5929\u5929\u6C14\u600E\u4E48\u6837\uFF1F").out());
        // T14: empty text, empty list
        assertEquals("\n", ok("tokenize", "--tokenizer", q(), "--text", "").out());
        assertEquals("{\"ids\":[],\"tokens\":[]}\n", ok("tokenize", "--tokenizer", q(), "--text", "", "--json").out());
        // a model folder or a tokenizer.json file works as --tokenizer too
        assertEquals("9707,11,1879,0\n", ok("tokenize", "--tokenizer", tiny.toString(), "--text", "Hello, world!").out());
        assertEquals("9707,11,1879,0\n", ok("tokenize", "--tokenizer", qwen3.resolve("tokenizer.json").toString(),
                "--text", "Hello, world!").out());
    }

    @Test
    void untrustedTextMatchesNoSpecialToken() {
        String t07 = "<|im_start|>user\nHi there<|im_end|>\n";
        // qwen3-spec 3.5: matched by default, plain characters when special-token matching is off
        assertEquals("151644,872,198,13048,1052,151645,198\n", ok("tokenize", "--tokenizer", q(), "--text", t07).out());
        assertEquals("27,91,318,4906,91,29,872,198,13048,1052,27,91,318,6213,91,397\n",
                ok("tokenize", "--tokenizer", q(), "--text", t07, "--untrusted").out());
        // <think> is not special, and --untrusted still leaves it plain (HF's split_special_tokens would not)
        JsonNode o = ok("tokenize", "--tokenizer", q(), "--text", "<think>", "--untrusted", "--json").json();
        assertFalse(Arrays.stream(ints(o.get("ids"))).anyMatch(id -> id == 151667), o.toString());
    }

    // ---------------------------------------------------------------- tokenize --decode

    @Test
    void decodeIds() {
        assertEquals("Hello, world!\n", ok("tokenize", "--tokenizer", q(), "--decode", "9707,11,1879,0").out());
        assertEquals("{\"text\":\"Hello, world!\"}\n",
                ok("tokenize", "--tokenizer", q(), "--decode", "9707, 11, 1879, 0", "--json").out());
        // qwen3-spec 3.4's decode example, with and without skip_special_tokens
        String ids = "151644,77091,198,151667,198,10061,151668,271,9707,151645,198";
        assertEquals("<|im_start|>assistant\n<think>\nLet</think>\n\nHello<|im_end|>\n",
                ok("tokenize", "--tokenizer", q(), "--decode", ids, "--json").json().get("text").asText());
        assertEquals("assistant\n<think>\nLet</think>\n\nHello\n",
                ok("tokenize", "--tokenizer", q(), "--decode", ids, "--json", "--skip-special").json().get("text").asText());
        assertEquals("{\"text\":\"\"}\n", ok("tokenize", "--tokenizer", q(), "--decode", "", "--json").out());
    }

    @Test
    void decodeRejectsIdsWithoutAToken() {
        // 151669..151935 are rows of Qwen3's embedding but no token
        bad(args("tokenize", "--tokenizer", q(), "--decode", "9707,151669"), "--decode", "item 2", "151669");
        bad(args("tokenize", "--tokenizer", q(), "--decode", "99999999"), "--decode", "99999999");
        bad(args("tokenize", "--tokenizer", q(), "--decode", "1,-3"), "--decode", "-3");
        bad(args("tokenize", "--tokenizer", q(), "--decode", "1,x"), "--decode", "'x'");
    }

    @Test
    void tokenizeFlagsThatDoNotGoTogether() {
        bad(args("tokenize", "--tokenizer", q()), "--text", "--jsonl", "--decode");
        bad(args("tokenize", "--tokenizer", q(), "--text", "a", "--decode", "1"), "mutually exclusive");
        bad(args("tokenize", "--tokenizer", q(), "--text", "a", "--jsonl", "x.jsonl"), "mutually exclusive");
        bad(args("tokenize", "--tokenizer", q(), "--decode", "1", "--untrusted"), "--untrusted");
        bad(args("tokenize", "--tokenizer", q(), "--text", "a", "--skip-special"), "--skip-special");
        bad(args("tokenize", "--text", "a"), "--tokenizer");
    }

    @Test
    void tokenizerFolderProblemsAreNamed() throws IOException {
        String missing = tmp.resolve("nowhere").toString();
        bad(args("tokenize", "--tokenizer", missing, "--text", "a"), "--tokenizer", missing);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        bad(args("tokenize", "--tokenizer", empty.toString(), "--text", "a"), empty.resolve("tokenizer.json").toString());
        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(broken.resolve("tokenizer.json"), "{\"model\": ");
        bad(args("tokenize", "--tokenizer", broken.toString(), "--text", "a"), broken.resolve("tokenizer.json").toString());
    }

    // ---------------------------------------------------------------- tokenize --jsonl

    private static byte[] bytes(String... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String p : parts) {
            b.writeBytes(p.getBytes(StandardCharsets.UTF_8));
        }
        return b.toByteArray();
    }

    @Test
    void jsonlKeepsGoingPastANonUtf8Line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(bytes("{\"text\": \"Hello, world!\"}\n"));
        b.writeBytes(bytes("{\"text\": \"caf"));
        b.write(0xE9); // Latin-1 é: not UTF-8
        b.writeBytes(bytes("\"}\n"));
        b.writeBytes(bytes("{\"text\": \"<|im_start|>user\\nHi there<|im_end|>\\n\"}\n"));
        Path file = Files.write(tmp.resolve("in.jsonl"), b.toByteArray());

        CliTest.Run r = run("tokenize", "--tokenizer", q(), "--jsonl", file.toString());
        assertEquals(2, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertEquals("{\"ids\":[9707,11,1879,0]}", lines.get(0));
        JsonNode error = JSON.readTree(lines.get(1));
        assertEquals(2, error.get("line").asInt());
        assertTrue(error.get("error").asText().contains("UTF-8"), lines.get(1));
        assertEquals("{\"ids\":[151644,872,198,13048,1052,151645,198]}", lines.get(2));
        assertTrue(r.err().contains(file + ":2:"), r.err());
        assertTrue(r.err().contains("UTF-8"), r.err());
        assertFalse(r.err().contains(":1:") || r.err().contains(":3:"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());

        // --untrusted applies to every line
        CliTest.Run u = run("tokenize", "--tokenizer", q(), "--jsonl", file.toString(), "--untrusted");
        assertEquals("{\"ids\":[27,91,318,4906,91,29,872,198,13048,1052,27,91,318,6213,91,397]}",
                u.out().lines().toList().get(2));
    }

    @Test
    void jsonlBadRecordsOfEveryKind() throws IOException {
        String in = String.join("\n",
                "{\"text\": \"a\"}",
                "",                                // empty line: a bad record, so output stays aligned
                "{\"text\": 5}",
                "{\"txt\": \"a\"}",
                "[\"a\"]",
                "{\"text\": \"a\"",
                "{\"text\": \"a\"} {\"text\": \"b\"}",
                "{\"text\": \"a\", \"text\": \"b\"}",
                "{\"text\": null}",
                "{\"text\": \"Hello, world!\", \"id\": 7}\r",  // CRLF line end
                "{\"text\": \"end\"}");                 // no final newline
        Path file = Files.writeString(tmp.resolve("mixed.jsonl"), in);
        CliTest.Run r = run("tokenize", "--tokenizer", q(), "--jsonl", file.toString());
        assertEquals(2, r.code());
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.out().lines().toList()) {
            out.add(JSON.readTree(line));
        }
        assertEquals(11, out.size(), r.out());
        int[] badLines = {2, 3, 4, 5, 6, 7, 8, 9};
        for (int n : badLines) {
            JsonNode e = out.get(n - 1);
            assertEquals(n, e.get("line").asInt(), e.toString());
            assertTrue(e.get("error").isTextual(), e.toString());
            assertTrue(r.err().contains(file + ":" + n + ": "), () -> "line " + n + ":\n" + r.err());
        }
        assertTrue(out.get(1).get("error").asText().contains("empty line"), out.get(1).toString());
        assertTrue(out.get(2).get("error").asText().contains("\"text\""), out.get(2).toString());
        assertTrue(out.get(5).get("error").asText().contains("not valid JSON"), out.get(5).toString());
        assertFalse(out.get(5).get("error").asText().contains("REDACTED"), out.get(5).toString());
        assertArrayEquals(new int[] {64}, ints(out.get(0).get("ids")));
        assertArrayEquals(new int[] {9707, 11, 1879, 0}, ints(out.get(9).get("ids")));
        assertArrayEquals(new int[] {408}, ints(out.get(10).get("ids")));
        assertTrue(r.err().contains("8 of 11 lines"), r.err());
    }

    @Test
    void jsonlFromStdinAndEdgeCases() {
        // a UTF-8 byte-order mark before the first line is not part of it; a final newline ends the last line
        byte[] in = bytes("\uFEFF{\"text\": \"Hello, world!\"}\n{\"text\": \"\"}\n");
        CliTest.Run r = runWithStdin(in, "tokenize", "--tokenizer", q(), "--jsonl", "-");
        assertEquals(0, r.code(), r.err());
        assertEquals("{\"ids\":[9707,11,1879,0]}\n{\"ids\":[]}\n", r.out());
        assertEquals("", r.err());

        CliTest.Run bad = runWithStdin(bytes("nope\n"), "tokenize", "--tokenizer", q(), "--jsonl", "-");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("<stdin>:1:"), bad.err());

        CliTest.Run none = runWithStdin(new byte[0], "tokenize", "--tokenizer", q(), "--jsonl", "-");
        assertEquals(0, none.code(), none.err());
        assertEquals("", none.out());
    }

    @Test
    void jsonlMissingFile() {
        String missing = tmp.resolve("absent.jsonl").toString();
        bad(args("tokenize", "--tokenizer", q(), "--jsonl", missing), "--jsonl", missing);
        bad(args("tokenize", "--tokenizer", q(), "--jsonl", tmp.toString()), "--jsonl", tmp.toString());
    }

    // ---------------------------------------------------------------- chat-template

    private String chat(String messagesJson, String... extra) throws IOException {
        Path file = Files.createTempFile(tmp, "chat", ".json");
        Files.writeString(file, messagesJson);
        List<String> a = new ArrayList<>(List.of("chat-template", "--tokenizer", q(), "--messages", file.toString()));
        a.addAll(List.of(extra));
        return ok(a.toArray(String[]::new)).out();
    }

    @Test
    void chatTemplateRendersTheSpecExamplesExactly() throws IOException {
        // qwen3-spec 4.2, copied; printed as is, no newline added
        assertEquals("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
                chat("[{\"role\": \"user\", \"content\": \"Hello\"}]"));
        assertEquals("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                chat("[{\"role\": \"user\", \"content\": \"Hello\"}]", "--no-thinking"));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2? "
                        + "/no_think<|im_end|>\n<|im_start|>assistant\n",
                chat("[{\"role\": \"system\", \"content\": \"You are a helpful assistant.\"},"
                        + " {\"role\": \"user\", \"content\": \"What is 2+2? /no_think\"}]"));
        // "No Thinking Content in History": the think block of an assistant turn before the last query goes
        String joke = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
                + "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n";
        assertEquals(joke, chat("[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
                + "\"<think>\\nThe user greets.\\n</think>\\n\\nHello! How can I help?\"},"
                + " {\"role\": \"user\", \"content\": \"Tell me a joke.\"}]"));
        // reasoning_content instead of an inline think block: the same
        assertEquals(joke, chat("[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
                + "\"Hello! How can I help?\", \"reasoning_content\": \"The user greets.\"},"
                + " {\"role\": \"user\", \"content\": \"Tell me a joke.\"}]"));
        // ...and kept after the last query (the spec's rendering without generation prompt, plus the prompt)
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nThe user greets.\n</think>\n\n"
                        + "Hello! How can I help?<|im_end|>\n<|im_start|>assistant\n",
                chat("[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
                        + "\"Hello! How can I help?\", \"reasoning_content\": \"The user greets.\"}]"));
    }

    @Test
    void chatTemplateReadsStdinAndKeepsUnicode() {
        byte[] in = bytes("[{\"role\": \"user\", \"content\": \"\u4F60\u597D \uD83E\uDD80\"}]");
        CliTest.Run r = runWithStdin(in, "chat-template", "--tokenizer", q(), "--messages", "-");
        assertEquals(0, r.code(), r.err());
        assertEquals("<|im_start|>user\n\u4F60\u597D \uD83E\uDD80<|im_end|>\n<|im_start|>assistant\n", r.out());
    }

    @Test
    void chatTemplateBadInputNamesFileAndMessage() throws IOException {
        Path f = tmp.resolve("m.json");
        String name = f.toString();
        Files.writeString(f, "[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"bob\", \"content\": \"x\"}]");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "messages[1]", "bob");
        Files.writeString(f, "[{\"role\": \"user\", \"content\": \"Hi\"}");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "not valid JSON", "line");
        Files.writeString(f, "{\"role\": \"user\", \"content\": \"Hi\"}");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "list");
        Files.writeString(f, "[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"user\", \"content\": 5}]");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "messages[1]", "content");
        Files.writeString(f, "[{\"role\": \"user\", \"content\": \"Hi\"}, {\"content\": \"x\"}]");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "messages[1]", "role");
        Files.writeString(f, "[{\"role\": \"user\", \"content\": \"Hi\", \"reasoning_content\": \"r\"}]");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "messages[0]", "reasoning");
        Files.writeString(f, "[]");
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "empty");
        Files.write(f, new byte[] {'[', '"', (byte) 0xC3, '"', ']'});
        bad(args("chat-template", "--tokenizer", q(), "--messages", name), name, "UTF-8");
        String missing = tmp.resolve("none.json").toString();
        bad(args("chat-template", "--tokenizer", q(), "--messages", missing), "--messages", missing);
    }

    @Test
    void chatTemplateNeedsAKnownQwen3Template() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("other-template"));
        Files.copy(qwen3.resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Path messages = Files.writeString(tmp.resolve("m.json"), "[{\"role\": \"user\", \"content\": \"Hi\"}]");
        bad(args("chat-template", "--tokenizer", dir.toString(), "--messages", messages.toString()),
                dir.resolve("tokenizer_config.json").toString(), "chat_template");
        ObjectNode config = (ObjectNode) JSON.readTree(qwen3.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}");
        Files.writeString(dir.resolve("tokenizer_config.json"), config.toString());
        bad(args("chat-template", "--tokenizer", dir.toString(), "--messages", messages.toString()),
                dir.resolve("tokenizer_config.json").toString(), "not recognised");
    }

    // ---------------------------------------------------------------- generate --prompt

    private static JsonNode generateJson(String... a) {
        List<String> all = new ArrayList<>(List.of("generate", "--model", tiny.toString(), "--json"));
        all.addAll(List.of(a));
        return ok(all.toArray(String[]::new)).json();
    }

    private static JsonNode withoutText(JsonNode o) {
        ObjectNode c = o.deepCopy();
        c.remove("text");
        return c;
    }

    @Test
    void promptIsChatFormattedAsTheSpecSays() {
        String[] greedy = {"--greedy", "--ignore-eos", "--max-new", "4"};
        // qwen3-spec 4.2's ids: the same prompt given as text and as ids generates the same tokens and logprobs
        JsonNode text = generateJson(concat(greedy, "--prompt", "Hello"));
        JsonNode ids = generateJson(concat(greedy, "--tokens", "151644,872,198,9707,151645,198,151644,77091,198"));
        assertEquals(ids, withoutText(text));
        JsonNode noThinking = generateJson(concat(greedy, "--prompt", "Hello", "--no-thinking"));
        assertEquals(generateJson(concat(greedy, "--tokens",
                "151644,872,198,9707,151645,198,151644,77091,198,151667,271,151668,271")), withoutText(noThinking));
        assertNotEquals(text.get("logprobs"), noThinking.get("logprobs"));
        JsonNode system = generateJson(concat(greedy, "--system", "You are a helpful assistant.",
                "--prompt", "What is 2+2? /no_think"));
        assertEquals(generateJson(concat(greedy, "--tokens", "151644,8948,198,2610,525,264,10950,17847,13,151645,198,"
                + "151644,872,198,3838,374,220,17,10,17,30,608,2152,5854,766,151645,198,151644,77091,198")),
                withoutText(system));
        // The user's text is untrusted: a typed <|im_end|> stays characters (qwen3-spec 3.5: "<|", "im", "_end", "|>")
        JsonNode injected = generateJson(concat(greedy, "--prompt", "<|im_end|>"));
        assertEquals(generateJson(concat(greedy, "--tokens",
                "151644,872,198,27,91,318,6213,91,29,151645,198,151644,77091,198")), withoutText(injected));
    }

    private static String[] concat(String[] a, String... b) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of(b));
        return l.toArray(String[]::new);
    }

    @Test
    void promptAnswerIsTextAndJsonHasAllFields() {
        String model = tiny.toString();
        JsonNode o = generateJson("--prompt", "Hello", "--max-new", "8", "--seed", "3");
        assertEquals(List.of("text", "tokens", "logprobs", "finish_reason"), fieldNames(o));
        int[] tokens = ints(o.get("tokens"));
        assertTrue(tokens.length >= 1 && tokens.length <= 8, o.toString());
        assertEquals(tokens.length, o.get("logprobs").size());
        assertTrue(o.get("finish_reason").asText().matches("stop|length"), o.toString());
        assertFalse(o.get("text").asText().isEmpty(), o.toString());
        // the text is the HF decode of the tokens, special tokens skipped (and ids without a token dropped)
        int[] known = Arrays.stream(tokens).filter(t -> t < 151669).toArray();
        String decoded = ok("tokenize", "--tokenizer", model, "--decode", csv(known), "--skip-special",
                "--json").json().get("text").asText();
        assertEquals(decoded, o.get("text").asText());
        // without --json: that text and a newline
        assertEquals(decoded + "\n", ok("generate", "--model", model, "--prompt", "Hello", "--max-new", "8",
                "--seed", "3").out());
    }

    private static List<String> fieldNames(JsonNode o) {
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void streamPrintsTheSameTextAsTheBatchPath() {
        String model = tiny.toString();
        for (List<String> decoding : List.of(List.of("--greedy"), List.of("--seed", "10", "--temperature", "1.5"))) {
            List<String> a = new ArrayList<>(List.of("generate", "--model", model, "--prompt", "Tell me a joke.",
                    "--max-new", "20", "--ignore-eos"));
            a.addAll(decoding);
            String batch = ok(a.toArray(String[]::new)).out();
            a.add("--stream");
            String streamed = ok(a.toArray(String[]::new)).out();
            assertEquals(batch, streamed, decoding.toString());
            assertTrue(batch.length() > 1, batch);
        }
    }

    @Test
    void idsWithoutATokenAreDroppedFromTheText() throws IOException {
        // Make the model pick 151935 (a padding row, no token) first: with tied embeddings the logit of a token is
        // <h, E[token]>, so a row 10x the greedy choice's row wins.
        Path model = Files.createDirectories(tmp.resolve("padded"));
        try (var files = Files.list(tiny)) {
            for (Path f : files.toList()) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        String[] first = {"generate", "--model", model.toString(), "--json", "--greedy", "--ignore-eos",
                "--prompt", "Hello", "--max-new", "1"};
        int t1 = ok(first).json().get("tokens").get(0).asInt();
        scaleEmbeddingRow(model.resolve("model.safetensors"), t1, 151935, 10f);
        String[] gen = {"generate", "--model", model.toString(), "--greedy", "--ignore-eos", "--prompt", "Hello",
                "--max-new", "3"};
        JsonNode o = ok(concat(gen, "--json")).json();
        int[] tokens = ints(o.get("tokens"));
        assertEquals(151935, tokens[0], o.toString());
        int[] known = Arrays.stream(tokens).filter(t -> t < 151669).toArray();
        String expected = known.length == 0 ? ""
                : ok("tokenize", "--tokenizer", model.toString(), "--decode", csv(known), "--skip-special", "--json")
                        .json().get("text").asText();
        assertEquals(expected, o.get("text").asText());
        assertEquals(expected + "\n", ok(gen).out());
        assertEquals(expected + "\n", ok(concat(gen, "--stream")).out());
        assertTrue(ok("generate", "--help").out().replaceAll("\\s+", " ").contains("are dropped from the text"), "said in --help");
    }

    @Test
    void answerTextDropsIdsWithoutATokenInBothPaths() {
        // qwen3-spec T04: "I love 🦀 and" = 40, 2948, 11162, 99, 222, 323 (the crab's 4 bytes span 3 tokens);
        // padding ids (151669..151935) and a special token (151645, skipped) are mixed in
        int[] ids = {40, 2948, 151700, 11162, 99, 151935, 222, 323, 151645, 151669};
        Tokenizer tok = Tokenizer.qwen3();
        assertEquals("I love \uD83E\uDD80 and", AnswerText.decode(tok, ids));
        StringWriter printed = new StringWriter();
        List<String> pieces = new ArrayList<>();
        try (PrintWriter out = new PrintWriter(printed)) {
            AnswerText.Stream stream = new AnswerText.Stream(tok, out);
            for (int id : ids) {
                int before = printed.getBuffer().length();
                stream.accept(id);
                pieces.add(printed.getBuffer().substring(before));
            }
            stream.finish();
        }
        assertEquals("I love \uD83E\uDD80 and\n", printed.toString());
        // the crab comes out whole, with its last byte, never as U+FFFD halves (11162 is the space and its first byte)
        assertEquals(List.of("I", " love", "", " ", "", "", "\uD83E\uDD80", " and", "", ""), pieces);
    }

    /** Sets row {@code to} of the F32 embedding to {@code factor} times row {@code from}. */
    private static void scaleEmbeddingRow(Path safetensors, int from, int to, float factor) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(safetensors.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) headerLen];
            f.readFully(header);
            JsonNode entry = JSON.readTree(header).get("model.embed_tokens.weight");
            assertEquals("F32", entry.get("dtype").asText());
            int hidden = entry.get("shape").get(1).asInt();
            long base = 8 + headerLen + entry.get("data_offsets").get(0).asLong();
            byte[] row = new byte[hidden * 4];
            f.seek(base + (long) from * hidden * 4);
            f.readFully(row);
            ByteBuffer b = ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < hidden; i++) {
                b.putFloat(i * 4, b.getFloat(i * 4) * factor);
            }
            f.seek(base + (long) to * hidden * 4);
            f.write(row);
        }
    }

    @Test
    void promptAndTokensAreMutuallyExclusive() {
        String model = tiny.toString();
        bad(args("generate", "--model", model, "--tokens", "1,2", "--prompt", "Hi"), "--tokens", "--prompt",
                "mutually exclusive");
        bad(args("generate", "--model", model), "--tokens", "--prompt");
        bad(args("generate", "--model", model, "--tokens", "1", "--system", "S"), "--system", "--prompt");
        bad(args("generate", "--model", model, "--tokens", "1", "--no-thinking"), "--no-thinking", "--prompt");
        bad(args("generate", "--model", model, "--tokens", "1", "--stream"), "--stream", "--prompt");
        bad(args("generate", "--model", model, "--tokens", "1", "--tokenizer", q()), "--tokenizer", "--prompt");
        bad(args("generate", "--model", model, "--prompt", "Hi", "--stream", "--json"), "--stream", "--json");
        bad(args("logits", "--model", model, "--tokens", "1", "--text", "a"), "--tokens", "--text", "mutually exclusive");
        bad(args("logits", "--model", model), "--tokens", "--text");
        bad(args("logits", "--model", model, "--tokens", "1", "--tokenizer", q()), "--tokenizer", "--text");
    }

    @Test
    void promptNeedsAFittingTokenizer() {
        // the transformers fixtures have no tokenizer, and a 512-token vocabulary
        String fixture = Path.of("../model/src/test/resources/fixtures/tiny-f32-untied").toString();
        bad(args("generate", "--model", fixture, "--prompt", "Hi"), Path.of(fixture, "tokenizer.json").toString(),
                "--tokenizer");
        bad(args("generate", "--model", fixture, "--tokenizer", q(), "--prompt", "Hi"), "--prompt", "vocabulary", "511");
        bad(args("logits", "--model", fixture, "--text", "Hi"), Path.of(fixture, "tokenizer.json").toString());
        String missing = tmp.resolve("no-model").toString();
        CliTest.Run r = bad(args("generate", "--model", missing, "--prompt", "Hi"), missing);
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    // ---------------------------------------------------------------- logits --text

    @Test
    void logitsOfTextEqualLogitsOfItsIds() {
        String model = tiny.toString();
        String byText = ok("logits", "--model", model, "--text", "Hello, world!", "--top", "3").out();
        assertEquals(ok("logits", "--model", model, "--tokens", "9707,11,1879,0", "--top", "3").out(), byText);
        assertTrue(byText.contains("(token 9707)"), byText);
        // HF's default encode: added tokens in the text are matched (qwen3-spec 3.5)
        assertEquals(ok("logits", "--model", model, "--tokens", "151644,872,198", "--top", "2").out(),
                ok("logits", "--model", model, "--text", "<|im_start|>user\n", "--top", "2").out());
        // --tokenizer names another folder with the same tokenizer
        assertEquals(byText, ok("logits", "--model", model, "--tokenizer", q(), "--text", "Hello, world!", "--top", "3").out());
        bad(args("logits", "--model", model, "--text", ""), "--text", "no tokens");
    }
}
