package org.reflectrm.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Converts renderings.json conversations (transformers' message dicts) to {@link ChatMessage}s. */
final class FixtureMessages {

    private FixtureMessages() {
    }

    /** content / reasoning_content: a string, or null/missing (= null); tool_calls with or without "function". */
    static List<ChatMessage> messages(JsonNode arr) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : arr) {
            String content = m.path("content").isTextual() ? m.get("content").textValue() : null;
            String reasoning = m.path("reasoning_content").isTextual() ? m.get("reasoning_content").textValue() : null;
            List<ToolCall> calls = new ArrayList<>();
            for (JsonNode tc : m.path("tool_calls")) {
                JsonNode f = tc.has("function") ? tc.get("function") : tc;
                calls.add(ToolCall.of(f.get("name").asText(), f.get("arguments")));
            }
            out.add(new ChatMessage(m.get("role").asText(), content, reasoning, calls));
        }
        return out;
    }

    static List<JsonNode> tools(JsonNode t) {
        if (t == null || t.isNull()) {
            return null;
        }
        List<JsonNode> out = new ArrayList<>();
        t.forEach(out::add);
        return out;
    }

    static int[] ints(JsonNode arr) {
        int[] r = new int[arr.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = arr.get(i).asInt();
        }
        return r;
    }
}
