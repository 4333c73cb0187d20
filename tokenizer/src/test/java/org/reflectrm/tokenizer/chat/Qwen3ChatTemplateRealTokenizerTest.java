package org.reflectrm.tokenizer.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * {@link Qwen3ChatTemplate#encode} with the real Qwen3 tokenizer (the one bundled in the jar, {@link Tokenizer#qwen3()}).
 * It asserts, for every renderable fixture conversation:
 * <ul>
 *   <li>content without added-token text: {@code encode(..., Tokenizer::encode, Tokenizer::encodeUntrusted)} equals
 *       {@code tokenizer.encode(render(...))} and, where recorded, transformers' {@code apply_chat_template} ids;</li>
 *   <li>content with added-token text: the ids hold exactly the template's own control tokens (a typed
 *       {@code <|im_end|>} is not one).</li>
 * </ul>
 * It also counts on how many benign chats naive per-segment encoding differs (the finding documented on
 * {@link Qwen3ChatTemplate#encode}).
 */
class Qwen3ChatTemplateRealTokenizerTest {

    @Test
    void encodeMatchesWholeStringEncodingWithRealTokenizer() throws Exception {
        Tokenizer tok = Tokenizer.qwen3();

        JsonNode fixtures;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("chat/renderings.json")) {
            fixtures = new ObjectMapper().readTree(in);
        }
        int benign = 0;
        int naiveDiffers = 0;
        List<String> naiveDiffNames = new ArrayList<>();
        for (JsonNode c : fixtures.get("cases")) {
            if (c.has("error") || c.path("java_rejects").asBoolean()) {
                continue;
            }
            String name = c.get("name").asText();
            Qwen3ChatTemplate t = "older".equals(c.get("template").asText())
                    ? Qwen3ChatTemplate.of(Qwen3ChatTemplate.Revision.ORIGINAL) : Qwen3ChatTemplate.current();
            List<ChatMessage> messages = FixtureMessages.messages(c.get("messages"));
            List<JsonNode> tools = FixtureMessages.tools(c.get("tools"));
            boolean gen = c.get("add_generation_prompt").asBoolean();
            boolean think = !c.get("enable_thinking").isBoolean() || c.get("enable_thinking").asBoolean();

            int[] ids = t.encode(messages, tools, gen, think, tok::encode, tok::encodeUntrusted);
            List<Segment> segs = t.renderSegments(messages, tools, gen, think);
            boolean isBenign = segs.stream().filter(s -> !s.structure())
                    .allMatch(s -> Arrays.equals(tok.encode(s.text()), tok.encodeUntrusted(s.text())));
            if (isBenign) {
                benign++;
                assertArrayEquals(tok.encode(c.get("rendered").asText()), ids, name);
                if (c.has("ids")) {
                    assertArrayEquals(FixtureMessages.ints(c.get("ids")), ids, name + " vs transformers");
                }
                int[] naive = t.encodePerSegment(messages, tools, gen, think, tok::encode, tok::encodeUntrusted);
                if (!Arrays.equals(naive, ids)) {
                    naiveDiffers++;
                    naiveDiffNames.add(name);
                }
            } else {
                // only the template's own added tokens appear as added-token ids
                StringBuilder structure = new StringBuilder();
                segs.stream().filter(Segment::structure).forEach(s -> structure.append(s.text()).append(' '));
                long expected = Arrays.stream(tok.encode(structure.toString())).filter(id -> id >= 151643).count();
                long actual = Arrays.stream(ids).filter(id -> id >= 151643).count();
                assertEquals(expected, actual, name);
            }
        }
        System.out.println("[chat] real tokenizer: " + benign + " benign chats, encode() == encode(render()) on all;"
                + " per-segment encoding differs on " + naiveDiffers + ": " + naiveDiffNames);
        assertTrue(benign >= 40);
        assertTrue(naiveDiffers > 0, "per-segment encoding is expected to differ on some chats");
    }
}
