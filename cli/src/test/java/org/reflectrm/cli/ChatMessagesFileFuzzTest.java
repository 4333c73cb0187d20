package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.ChatTemplateException;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * Damaged chat-message files ({@code judge --messages}, {@code chat-template --messages}): bytes
 * replaced, inserted, deleted or cut from real chats. Parsing may only succeed or throw a
 * {@link BadInputException} naming the file; a parsed chat may only render or be refused by the
 * template with a {@link ChatTemplateException} (which the commands report with the file's name).
 * Each case has its own seed, printed on failure.
 */
class ChatMessagesFileFuzzTest {
    static final int CASES = 4000;
    private static final List<String> CHATS = List.of(
            "[{\"role\":\"user\",\"content\":\"What is 7+5?\"}]",
            "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"},"
                    + "{\"role\":\"assistant\",\"content\":\"hello\",\"reasoning_content\":\"greet\"},"
                    + "{\"role\":\"user\",\"content\":\"How many r in strawberry?\"}]",
            "[{\"role\":\"user\",\"content\":\"weather?\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
                    + "[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":{\"city\":\"Oslo\"}}}]},"
                    + "{\"role\":\"tool\",\"content\":\"{\\\"t\\\": 3}\"},{\"role\":\"user\",\"content\":\"thanks\"}]");
    private static final String DAMAGE = "[]{}\",:\\ 0xa\u00e9\u0000\n";

    @Test
    void damagedChatsParseAndRenderOrAreRefusedNamingTheFile() {
        Qwen3ChatTemplate template = Qwen3ChatTemplate.current();
        int parsed = 0;
        for (int c = 0; c < CASES; c++) {
            long seed = 0xC4A7L + c;
            Random r = new Random(seed);
            byte[] bytes = damaged(CHATS.get(r.nextInt(CHATS.size())).getBytes(StandardCharsets.UTF_8), r);
            List<ChatMessage> messages;
            try {
                messages = ChatMessagesFile.parse(bytes, "fuzz/chat.json");
            } catch (BadInputException e) {
                assertTrue(e.getMessage().startsWith("fuzz/chat.json: "), "case " + seed + ": " + e.getMessage());
                continue;
            } catch (RuntimeException | Error e) {
                fail("case " + seed + " (" + new String(bytes, StandardCharsets.UTF_8) + "): " + e, e);
                continue;
            }
            parsed++;
            try {
                template.render(messages, true, false);
            } catch (ChatTemplateException e) {
                // refused by the template, by name; the commands prefix the file
            } catch (RuntimeException | Error e) {
                fail("case " + seed + ": parsed, then the template failed: " + e, e);
            }
        }
        assertTrue(parsed > 0 && parsed < CASES, "the damage should be refused sometimes and survived sometimes: " + parsed);
    }

    private static byte[] damaged(byte[] text, Random r) {
        StringBuilder s = new StringBuilder(new String(text, StandardCharsets.UTF_8));
        for (int k = 1 + r.nextInt(3); k > 0 && !s.isEmpty(); k--) {
            int at = r.nextInt(s.length());
            char ch = DAMAGE.charAt(r.nextInt(DAMAGE.length()));
            switch (r.nextInt(4)) {
                case 0 -> s.setCharAt(at, ch);
                case 1 -> s.insert(at, ch);
                case 2 -> s.deleteCharAt(at);
                default -> s.setLength(at);
            }
        }
        byte[] out = s.toString().getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(20) == 0 && out.length > 0) {
            out[r.nextInt(out.length)] = (byte) 0xC3; // a broken UTF-8 sequence
        }
        return out;
    }
}
