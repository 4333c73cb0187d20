package org.reflectrm.reflect.eval.adapters;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * Typed reads of a benchmark record's fields. Every read checks the JSON type and throws
 * {@link BadRecord} with a message that says which field and what it holds, so a malformed record
 * is reported, never half-read. {@code owner} (e.g. {@code "chosen"} or {@code "loser_list"[2]})
 * names a nested object in the messages; null is the record itself.
 */
final class Json {
    private Json() {
    }

    static String q(String field) {
        return "\"" + field + "\"";
    }

    private static String where(String owner, String field) {
        return owner == null ? q(field) : owner + " " + q(field);
    }

    private static BadRecord missing(String owner, String field) {
        return new BadRecord((owner == null ? "has no " : owner + " has no ") + q(field));
    }

    /** Whether {@code field} is there and not null. */
    static boolean present(JsonNode o, String field) {
        JsonNode n = o.get(field);
        return n != null && !n.isNull();
    }

    /** A required string (no unpaired surrogates). */
    static String text(JsonNode o, String field) throws BadRecord {
        return text(o, field, null);
    }

    static String text(JsonNode o, String field, String owner) throws BadRecord {
        if (!o.has(field)) {
            throw missing(owner, field);
        }
        return SftRecordParser.string(o, field, where(owner, field));
    }

    /** An optional string: null when absent or null. */
    static String optText(JsonNode o, String field) throws BadRecord {
        return present(o, field) ? text(o, field) : null;
    }

    /** A required id: a non-empty string, or an integer (as its decimal text). */
    static String id(JsonNode o, String field) throws BadRecord {
        JsonNode n = o.get(field);
        if (n == null) {
            throw missing(null, field);
        }
        if (n.isIntegralNumber()) {
            return n.asText();
        }
        if (!n.isTextual()) {
            throw new BadRecord(q(field) + " must be a string or an integer, got " + SftRecordParser.kind(n));
        }
        String id = SftRecordParser.string(o, field, q(field));
        if (id.isBlank()) {
            throw new BadRecord(q(field) + " is empty");
        }
        return id;
    }

    /** A required object. */
    static JsonNode object(JsonNode o, String field) throws BadRecord {
        JsonNode n = o.get(field);
        if (n == null) {
            throw missing(null, field);
        }
        if (!n.isObject()) {
            throw new BadRecord(q(field) + " must be an object, got " + SftRecordParser.kind(n));
        }
        return n;
    }

    /** A required, non-empty list. */
    static JsonNode array(JsonNode o, String field) throws BadRecord {
        JsonNode n = o.get(field);
        if (n == null) {
            throw missing(null, field);
        }
        if (!n.isArray()) {
            throw new BadRecord(q(field) + " must be a list, got " + SftRecordParser.kind(n));
        }
        if (n.isEmpty()) {
            throw new BadRecord(q(field) + " is empty");
        }
        return n;
    }

    /** A required, non-empty list of strings. */
    static List<String> texts(JsonNode o, String field) throws BadRecord {
        JsonNode list = array(o, field);
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            // Through a one-field holder, so SftRecordParser.string's checks (type, surrogates) apply.
            ObjectNode holder = SftRecordParser.MAPPER.createObjectNode();
            holder.set("v", list.get(i));
            out.add(SftRecordParser.string(holder, "v", q(field) + "[" + i + "]"));
        }
        return out;
    }

    /** A required integer that fits an int. */
    static int integer(JsonNode o, String field) throws BadRecord {
        JsonNode n = o.get(field);
        if (n == null) {
            throw missing(null, field);
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new BadRecord(q(field) + " must be an integer, got " + (n.isNumber() ? n.asText() : SftRecordParser.kind(n)));
        }
        return n.intValue();
    }

    /**
     * A list of {@code {role, content}} turns (system, user, assistant; other keys ignored) that
     * ends with the user's turn, checked as {@code SftRecordParser.messages} checks SFT messages.
     */
    static List<ChatMessage> conversation(JsonNode o, String field) throws BadRecord {
        JsonNode list = o.get(field);
        if (list == null) {
            throw missing(null, field);
        }
        List<ChatMessage> turns;
        try {
            turns = SftRecordParser.messages(list);
        } catch (BadRecord e) {
            throw new BadRecord(e.getMessage().replace("\"messages\"", q(field))
                    .replace("SFT data takes", "a conversation takes")
                    .replace("which SFT data does not support", "which eval does not support"));
        }
        String last = turns.getLast().role();
        if (!last.equals(ChatMessage.USER)) {
            throw new BadRecord(q(field) + " must end with the user turn the responses answer; the last turn has role \""
                    + last + "\"");
        }
        return turns;
    }

    /** One user turn. */
    static List<ChatMessage> userTurn(String prompt) {
        return List.of(ChatMessage.user(prompt));
    }

    /** {@code s} for a message: control characters and quotes escaped, cut after {@code max} characters. */
    static String printable(String s, int max) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (; i < s.length() && i < max; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || Character.isSurrogate(c)) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return i < s.length() ? sb + "..." : sb.toString();
    }
}
