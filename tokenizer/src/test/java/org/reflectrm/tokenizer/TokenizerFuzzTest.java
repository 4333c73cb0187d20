package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Hostile tokenizer.json and tokenizer_config.json files: nodes of a real file replaced by values of
 * the wrong type or absurd size, removed, or the text's bytes damaged. Loading may only succeed (and
 * the tokenizer then encodes and decodes without failing) or throw a {@link TokenizerException}
 * whose message starts with the file's name; anything else is a bug. Each case has its own seed,
 * printed on failure.
 */
class TokenizerFuzzTest {
    private static final long BASE_SEED = 0x70C3F422L;
    static final int TREE_CASES = 3000;
    static final int BYTE_CASES = 1500;
    static final int CONFIG_CASES = 1500;
    private static final String[] HOSTILE = {"null", "0", "-1", "2147483647", "-2147483648", "1e308", "1.5", "true",
            "\"\"", "\"x\"", "\"\\u0000\"", "\"Ġ\"", "[]", "[[]]", "[\"a\",\"b\"]", "[\"a b\"]", "[1,2]", "{}",
            "{\"type\":\"BPE\"}", "{\"a\":1}", "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"}}", "\"((((\"",
            "{\"id\":-5,\"content\":\"<x>\"}", "{\"id\":99999999,\"content\":\"<x>\",\"special\":true}"};
    private static final List<String> PROBES = List.of("What is 7+5?", "strawberry has 3 r", "héllo wörld 🙂", "",
            "<|im_start|>user\nhi<|im_end|>", "  \t\n  ", "\u0000\uFFFD");

    private static JsonNode resource(String name) throws IOException {
        try (InputStream in = Fixtures.resource(name)) {
            return Fixtures.JSON.readTree(in);
        }
    }

    @Test
    void hostileTokenizerJsonLoadsUsablyOrIsRefusedNamingTheFile() throws IOException {
        JsonNode base = resource("bpe-trainer/tokenizer.json");
        int loaded = 0;
        for (int c = 0; c < TREE_CASES; c++) {
            long seed = BASE_SEED + c;
            Random r = new Random(seed);
            JsonNode json = base.deepCopy();
            for (int k = 1 + r.nextInt(3); k > 0; k--) {
                mutate(json, r);
            }
            if (loadOrRefuse(json.toString().getBytes(StandardCharsets.UTF_8), seed)) {
                loaded++;
            }
        }
        assertTrue(loaded > 0 && loaded < TREE_CASES, "mutations should give both usable and refused files: " + loaded);
    }

    @Test
    void damagedTokenizerJsonBytesAreRefusedNamingTheFile() throws IOException {
        byte[] text = resource("bpe-trainer/tokenizer.json").toString().getBytes(StandardCharsets.UTF_8);
        for (int c = 0; c < BYTE_CASES; c++) {
            long seed = BASE_SEED + 100_000 + c;
            Random r = new Random(seed);
            byte[] damaged = r.nextInt(10) == 0 ? java.util.Arrays.copyOf(text, r.nextInt(text.length)) : text.clone();
            for (int k = r.nextInt(5); k > 0; k--) {
                String alphabet = "0123456789\"{}[],:\\-x\u00ff";
                damaged[r.nextInt(damaged.length)] = (byte) alphabet.charAt(r.nextInt(alphabet.length()));
            }
            loadOrRefuse(damaged, seed);
        }
    }

    @Test
    void hostileTokenizerConfigIsReadOrRefusedNamingTheFile() throws IOException {
        JsonNode base = resource("chat/tokenizer_config.json");
        for (int c = 0; c < CONFIG_CASES; c++) {
            long seed = BASE_SEED + 200_000 + c;
            Random r = new Random(seed);
            JsonNode json = base.deepCopy();
            for (int k = 1 + r.nextInt(3); k > 0; k--) {
                mutate(json, r);
            }
            byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
            if (r.nextInt(4) == 0) {
                bytes = java.util.Arrays.copyOf(bytes, r.nextInt(bytes.length));
            }
            try {
                TokenizerConfig.read(new ByteArrayInputStream(bytes), "fuzz/tokenizer_config.json");
            } catch (TokenizerException e) {
                assertTrue(e.getMessage().startsWith("fuzz/tokenizer_config.json"), "case " + seed + ": " + e.getMessage());
            } catch (RuntimeException | Error e) {
                fail("case " + seed + ": " + e, e);
            }
        }
    }

    /** True if the file loaded (and then encodes and decodes); false if refused with the file named. */
    private static boolean loadOrRefuse(byte[] json, long seed) {
        Tokenizer t;
        try {
            t = Tokenizer.fromJson(new ByteArrayInputStream(json), "fuzz/tokenizer.json");
        } catch (TokenizerException e) {
            assertTrue(e.getMessage().startsWith("fuzz/tokenizer.json"), "case " + seed + ": " + e.getMessage());
            return false;
        } catch (RuntimeException | Error e) {
            fail("case " + seed + ": " + e, e);
            return false;
        }
        try {
            for (String probe : PROBES) {
                int[] ids = t.encode(probe);
                t.decode(ids, false);
                t.decode(ids, true);
            }
        } catch (TokenizerException e) {
            // a loaded tokenizer may still refuse text it cannot represent, by name
        } catch (RuntimeException | Error e) {
            fail("case " + seed + ": loaded, then failed on the probes: " + e, e);
        }
        return true;
    }

    /** Replaces, removes or damages one node reached by a random walk from the root. */
    private static void mutate(JsonNode root, Random r) {
        ContainerNode<?> parent = null;
        Object key = null;
        JsonNode node = root;
        for (int depth = 0; depth < 6 && node.isContainerNode() && node.size() > 0; depth++) {
            if (depth > 0 && r.nextInt(3) == 0) {
                break;
            }
            parent = (ContainerNode<?>) node;
            if (node.isObject()) {
                List<String> names = new ArrayList<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                    names.add(it.next().getKey());
                }
                key = names.get(r.nextInt(names.size()));
                node = node.get((String) key);
            } else {
                key = r.nextInt(node.size());
                node = node.get((Integer) key);
            }
        }
        if (parent == null) {
            return;
        }
        JsonNode value;
        try {
            value = Fixtures.JSON.readTree(HOSTILE[r.nextInt(HOSTILE.length)]);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        boolean remove = r.nextInt(6) == 0;
        if (parent instanceof ObjectNode o) {
            if (remove) {
                o.remove((String) key);
            } else {
                o.set((String) key, value);
            }
        } else if (parent instanceof ArrayNode a) {
            if (remove) {
                a.remove((Integer) key);
            } else {
                a.set((Integer) key, value);
            }
        }
    }
}
