package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ways of loading a tokenizer and its tokenizer_config.json. */
class LoadTest {
    private static final String TEXT = "<|im_start|>user\nHello, w\u00f6rld! \u4f60\u597d<|im_end|>\n";

    @Test
    void loadsModelFolderFileAndGzip(@TempDir Path dir) throws IOException {
        try (InputStream in = Fixtures.gzResource(Fixtures.QWEN3_JSON_GZ)) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        try (InputStream in = Fixtures.resource(Fixtures.QWEN3_JSON_GZ)) {
            Files.copy(in, dir.resolve("copy.json.gz"));
        }
        try (InputStream in = Fixtures.resource(Fixtures.QWEN3_CONFIG)) {
            Files.copy(in, dir.resolve("tokenizer_config.json"));
        }
        int[] expected = Fixtures.qwen3().encode(TEXT);
        for (Path p : new Path[] {dir, dir.resolve("tokenizer.json"), dir.resolve("copy.json.gz")}) {
            Tokenizer tok = Tokenizer.load(p);
            assertArrayEquals(expected, tok.encode(TEXT), p.toString());
            assertEquals(Optional.of("<|im_end|>"), tok.config().eosToken(), p.toString());
            assertEquals(p.toString().endsWith(".gz") ? p.toString() : dir.resolve("tokenizer.json").toString(),
                    tok.source());
        }
    }

    @Test
    void bundledQwen3FilesAreTheOfficialOnes(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("model");
        assertEquals(List.of(folder.resolve("tokenizer.json"), folder.resolve("tokenizer_config.json")),
                Tokenizer.writeQwen3Files(folder));
        // qwen3-spec.md section 3.1: the official files' sizes and hashes.
        assertEquals(11_422_654L, Files.size(folder.resolve("tokenizer.json")));
        assertEquals("aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
                sha256(folder.resolve("tokenizer.json")));
        assertEquals("d5d09f07b48c3086c508b30d1c9114bd1189145b74e982a265350c923acd8101",
                sha256(folder.resolve("tokenizer_config.json")));
        Tokenizer loaded = Tokenizer.load(folder);
        assertArrayEquals(Tokenizer.qwen3().encode(TEXT), loaded.encode(TEXT));
        assertEquals(Tokenizer.qwen3().config(), loaded.config());
        assertSame(Tokenizer.qwen3(), Tokenizer.qwen3(), "loaded once");
        // Writing again replaces the files.
        Files.writeString(folder.resolve("tokenizer.json"), "stale");
        Tokenizer.writeQwen3Files(folder);
        assertEquals(11_422_654L, Files.size(folder.resolve("tokenizer.json")));
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void hasTokenMatchesDecode() {
        Tokenizer tok = Tokenizer.qwen3();
        assertTrue(tok.hasToken(0));
        assertTrue(tok.hasToken(151668));
        // Qwen3's embedding has 151,936 rows; ids past the last token decode to nothing in HF and throw here.
        assertFalse(tok.hasToken(151669));
        assertFalse(tok.hasToken(151935));
        assertFalse(tok.hasToken(-1));
        assertThrows(TokenizerException.class, () -> tok.decode(new int[] {151669}, false));
    }

    @Test
    void withoutConfigTheConfigIsEmpty(@TempDir Path dir) throws IOException {
        try (InputStream in = Fixtures.resource("small/bytelevel.json")) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        assertEquals(TokenizerConfig.EMPTY, Tokenizer.load(dir).config());
    }

    @Test
    void chatTemplateFileIsTheFallbackTemplate(@TempDir Path dir) throws IOException {
        try (InputStream in = Fixtures.resource("small/bytelevel.json")) {
            Files.copy(in, dir.resolve("tokenizer.json"));
        }
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ messages }}");
        assertEquals(Optional.of("{{ messages }}"), Tokenizer.load(dir).config().chatTemplate());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"inline\"}");
        assertEquals(Optional.of("inline"), Tokenizer.load(dir).config().chatTemplate());
    }

    @Test
    void configFieldForms() {
        String json = """
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": "</s>", "pad_token": null, "add_bos_token": true, "add_eos_token": false,
                 "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}
                """;
        TokenizerConfig c = TokenizerConfig.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "c");
        assertEquals(Optional.of("<s>"), c.bosToken());
        assertEquals(Optional.of("</s>"), c.eosToken());
        assertEquals(Optional.empty(), c.padToken());
        assertTrue(c.addBosToken());
        assertEquals(Optional.of("D"), c.chatTemplate());
        assertEquals(Map.of("default", "D", "tool_use", "T"), c.chatTemplates());
    }
}
