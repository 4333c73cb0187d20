package org.reflectrm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/** Committed test fixtures (see tokenizer/src/test/python), loaded once per test JVM. */
final class Fixtures {
    private Fixtures() {
    }

    static final ObjectMapper JSON = new ObjectMapper();

    /** Class-path names of the bundled Qwen3 files (main resources, see {@link Tokenizer#qwen3()}). */
    static final String QWEN3_JSON_GZ = "org/reflectrm/tokenizer/qwen3/tokenizer.json.gz";
    static final String QWEN3_CONFIG = "org/reflectrm/tokenizer/qwen3/tokenizer_config.json";

    /** The real Qwen3 tokenizer: the one bundled in the jar. */
    static Tokenizer qwen3() {
        return Tokenizer.qwen3();
    }

    static InputStream resource(String name) {
        InputStream in = Fixtures.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException("missing test resource " + name);
        }
        return in;
    }

    static InputStream gzResource(String name) throws IOException {
        return new GZIPInputStream(resource(name), 1 << 16);
    }

    static List<JsonNode> jsonLinesGz(String name) {
        List<JsonNode> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(gzResource(name), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    rows.add(JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    static JsonNode jsonGz(String name) {
        try (InputStream in = gzResource(name)) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }
}
