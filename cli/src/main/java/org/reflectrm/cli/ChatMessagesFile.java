package org.reflectrm.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.ToolCall;

/**
 * Reads a chat as transformers' {@code apply_chat_template} takes it: a JSON list of
 * {@code {"role", "content", "reasoning_content"?, "tool_calls"?}} objects. Other keys (OpenAI's {@code name},
 * {@code tool_call_id}) are ignored, as the Qwen3 template ignores them. Every error names the file and the
 * message index.
 */
final class ChatMessagesFile {
    static final Set<String> ROLES = Set.of(ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, ChatMessage.TOOL);

    private ChatMessagesFile() {
    }

    /** Parses the file's bytes; {@code name} names it in messages. */
    static List<ChatMessage> parse(byte[] bytes, String name) {
        String text;
        try {
            text = ByteLines.utf8(bytes);
        } catch (ByteLines.NotUtf8 e) {
            throw new BadInputException(name + ": " + e.getMessage());
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        JsonNode root;
        try {
            root = StrictJson.read(text);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null || loc.getLineNr() < 1 ? ""
                    : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new BadInputException(name + ": not valid JSON" + where + ": "
                    + StrictJson.message(e), e);
        }
        if (root == null || !root.isArray()) {
            throw new BadInputException(name + ": expected a JSON list of {\"role\", \"content\"} messages, got "
                    + StrictJson.kind(root));
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            messages.add(message(root.get(i), name + ": messages[" + i + "]"));
        }
        return messages;
    }

    private static ChatMessage message(JsonNode m, String where) {
        if (!m.isObject()) {
            throw new BadInputException(where + ": expected an object {\"role\", \"content\"}, got "
                    + StrictJson.kind(m));
        }
        JsonNode role = m.get("role");
        if (role == null || !role.isTextual()) {
            throw new BadInputException(where + ": " + (role == null ? "no \"role\"" : "\"role\" is not a string")
                    + "; expected one of system, user, assistant, tool");
        }
        if (!ROLES.contains(role.textValue())) {
            throw new BadInputException(where + ": unknown role \"" + role.textValue()
                    + "\"; the Qwen3 chat template renders only system, user, assistant and tool messages");
        }
        String content = optionalString(m, "content", where);
        String reasoning = optionalString(m, "reasoning_content", where);
        List<ToolCall> calls = new ArrayList<>();
        JsonNode tc = m.get("tool_calls");
        if (tc != null && !tc.isNull()) {
            if (!tc.isArray()) {
                throw new BadInputException(where + ": \"tool_calls\" must be a list");
            }
            for (int j = 0; j < tc.size(); j++) {
                String at = where + ".tool_calls[" + j + "]";
                JsonNode call = tc.get(j);
                JsonNode f = call.has("function") ? call.get("function") : call;
                if (!f.isObject() || !f.path("name").isTextual() || !f.has("arguments")) {
                    throw new BadInputException(at + ": expected {\"name\": string, \"arguments\": ...}"
                            + " (optionally inside \"function\")");
                }
                calls.add(ToolCall.of(f.get("name").textValue(), f.get("arguments")));
            }
        }
        return new ChatMessage(role.textValue(), content, reasoning, calls);
    }

    /** A string field, or null when it is absent or JSON null. */
    private static String optionalString(JsonNode m, String field, String where) {
        JsonNode v = m.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new BadInputException(where + ": \"" + field + "\" must be a string, got "
                    + StrictJson.kind(v));
        }
        return v.textValue();
    }
}
