package org.reflectrm.model.train.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * Parses one JSONL line of SFT data into chat messages. Two formats:
 * <ul>
 *   <li>{@code {"messages": [{"role": "system"|"user"|"assistant", "content": "...",
 *       "reasoning_content"?: "..." (assistant only)}, ...]}}: the conversation as transformers'
 *       {@code apply_chat_template} takes it;</li>
 *   <li>{@code {"prompt": "...", "completion": "..."}}: one user message and one assistant message. The assistant
 *       message gets {@code reasoning_content: ""} so the completion is used as written (a {@code </think>} in it
 *       is not split off as reasoning) and renders as {@code <think>\n\n</think>\n\nCOMPLETION<|im_end|>}: exactly
 *       what the model produces after the {@code enable_thinking=False} generation prompt.</li>
 * </ul>
 * An optional {@code "id"} (string or number) names the example; other top-level keys and other message keys
 * (e.g. OpenAI's {@code name}) are ignored, except {@code tool_calls}, which is refused rather than silently
 * dropped. Duplicate keys and trailing content are errors (both are ambiguous). Every error message says where:
 * {@code "messages"[2] has no "content"}.
 */
public final class SftRecordParser {

    /** Strict JSON: duplicate keys and trailing content are errors. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** A parsed line: {@code id} is null when the record has none. */
    record Parsed(String id, List<ChatMessage> messages) {
    }

    /** A line that is not a valid SFT record; the message says what is wrong (without file and line). */
    public static final class BadRecord extends Exception {
        public BadRecord(String message) {
            super(message, null, false, false);
        }
    }

    private SftRecordParser() {
    }

    static Parsed parse(String line) throws BadRecord {
        JsonNode root = object(line, "{\"messages\": [...]} or {\"prompt\", \"completion\"}");

        String id = null;
        JsonNode idNode = root.get("id");
        if (idNode != null && !idNode.isNull()) {
            if (!idNode.isTextual() && !idNode.isIntegralNumber()) {
                throw new BadRecord("\"id\" must be a string or an integer, got " + kind(idNode));
            }
            id = idNode.asText();
        }
        boolean hasMessages = root.has("messages");
        boolean hasPrompt = root.has("prompt") || root.has("completion");
        if (hasMessages && hasPrompt) {
            throw new BadRecord("has both \"messages\" and \"prompt\"/\"completion\"; use one format");
        }
        if (hasMessages) {
            return new Parsed(id, messages(root.get("messages")));
        }
        if (hasPrompt) {
            String prompt = string(root, "prompt", "\"prompt\"");
            String completion = string(root, "completion", "\"completion\"");
            return new Parsed(id, List.of(ChatMessage.user(prompt), ChatMessage.assistant(completion, "")));
        }
        throw new BadRecord("has neither \"messages\" nor \"prompt\" and \"completion\"");
    }

    /** One JSONL line as a JSON object; {@code expected} describes the object in the error. */
    public static JsonNode object(String line, String expected) throws BadRecord {
        JsonNode root;
        try {
            root = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null || loc.getColumnNr() < 1 ? "" : " at column " + loc.getColumnNr();
            throw new BadRecord("not valid JSON" + where + ": " + jacksonMessage(e));
        }
        if (root == null || !root.isObject()) {
            throw new BadRecord("expected a JSON object " + expected + ", got " + kind(root));
        }
        return root;
    }

    /** A {@code messages} list of system/user/assistant turns, checked as SFT records check it. */
    public static List<ChatMessage> messages(JsonNode list) throws BadRecord {
        if (!list.isArray()) {
            throw new BadRecord("\"messages\" must be a list of {\"role\", \"content\"} objects, got " + kind(list));
        }
        if (list.isEmpty()) {
            throw new BadRecord("\"messages\" is empty");
        }
        List<ChatMessage> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            String where = "\"messages\"[" + i + "]";
            JsonNode m = list.get(i);
            if (!m.isObject()) {
                throw new BadRecord(where + " must be an object {\"role\", \"content\"}, got " + kind(m));
            }
            JsonNode roleNode = m.get("role");
            if (roleNode == null) {
                throw new BadRecord(where + " has no \"role\"");
            }
            if (!roleNode.isTextual()) {
                throw new BadRecord(where + " \"role\" must be a string, got " + kind(roleNode));
            }
            String role = roleNode.textValue();
            switch (role) {
                case ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT -> { }
                default -> throw new BadRecord(where + " has unknown role \"" + printable(role)
                        + "\"; SFT data takes system, user and assistant messages");
            }
            if (m.has("tool_calls")) {
                throw new BadRecord(where + " has \"tool_calls\", which SFT data does not support");
            }
            String content = string(m, "content", where + " \"content\"");
            String reasoning = null;
            if (m.has("reasoning_content") && !m.get("reasoning_content").isNull()) {
                if (!ChatMessage.ASSISTANT.equals(role)) {
                    throw new BadRecord(where + " (" + role + ") has \"reasoning_content\"; only assistant"
                            + " messages may have it");
                }
                reasoning = string(m, "reasoning_content", where + " \"reasoning_content\"");
            }
            out.add(new ChatMessage(role, content, reasoning));
        }
        return out;
    }

    /** A required string field without unpaired surrogates (which no tokenizer can encode as UTF-8). */
    public static String string(JsonNode obj, String field, String where) throws BadRecord {
        JsonNode v = obj.get(field);
        if (v == null) {
            // `"messages"[2] "content"` -> `"messages"[2] has no "content"`
            int k = where.lastIndexOf(" \"");
            String owner = k < 0 ? "the record" : where.substring(0, k);
            throw new BadRecord(owner + " has no \"" + field + "\"");
        }
        if (!v.isTextual()) {
            throw new BadRecord(where + " must be a string, got " + kind(v));
        }
        String s = v.textValue();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new BadRecord(where + " holds an unpaired surrogate \\u"
                        + String.format(Locale.ROOT, "%04X", (int) c) + " at character " + i
                        + ", which is not text");
            }
        }
        return s;
    }

    /** Jackson's message on one line, without its source-location noise. */
    private static String jacksonMessage(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) {
            m = e.getClass().getSimpleName();
        }
        return m.replaceAll("\\[Source: [^;\\]]*; ", "[").replaceAll("\\s+", " ").strip();
    }

    /** A role for a message: control characters and quotes escaped, long ones cut. */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return i < s.length() ? sb + "..." : sb.toString();
    }

    /** "an array", "a number", ...: what a node is, for messages. */
    public static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        return switch (n.getNodeType()) {
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case STRING -> "a string";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }
}
