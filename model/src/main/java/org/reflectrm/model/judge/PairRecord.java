package org.reflectrm.model.judge;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.SplittableRandom;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One pair to judge: the conversation, responses A and B, the label ("A", "B" or null) and
 * where the pair came from. Three input shapes are read:
 * <ul>
 *   <li>the project's: {@code id, prompt | messages, response_a, response_b, label?, subset?};</li>
 *   <li>chosen/rejected (RewardBench style): {@code id?, prompt | messages, chosen, rejected,
 *       subset?}; chosen goes to A or B by a seeded coin per record, and {@code placement}
 *       records which;</li>
 *   <li>JudgeBench: {@code pair_id, question, response_A, response_B, label "A>B" | "B>A",
 *       source}.</li>
 * </ul>
 */
public record PairRecord(String id, List<ChatMessage> conversation, String responseA, String responseB,
                         String label, String subset, String placement) {

    /** Parses one line; records without an id get {@code line-N}. */
    public static PairRecord parse(String line, int lineNumber, long seed) throws BadRecord {
        JsonNode o = SftRecordParser.object(line, "with a prompt or messages and two responses");
        String id = id(o, lineNumber);
        if (o.has("response_A") && o.has("question")) {
            String label = switch (text(o, "label")) {
                case "A>B" -> "A";
                case "B>A" -> "B";
                default -> throw new BadRecord("JudgeBench \"label\" must be \"A>B\" or \"B>A\", got \"" + o.get("label").asText() + "\"");
            };
            return new PairRecord(id, List.of(ChatMessage.user(text(o, "question"))), text(o, "response_A"),
                    text(o, "response_B"), label, o.has("source") ? o.get("source").asText() : null, null);
        }
        List<ChatMessage> conversation = conversation(o);
        String subset = o.has("subset") && !o.get("subset").isNull() ? o.get("subset").asText() : null;
        if (o.has("chosen") || o.has("rejected")) {
            String chosen = text(o, "chosen"), rejected = text(o, "rejected");
            // A per-record coin from the seed and the id: stable under resume and reordering.
            boolean chosenFirst = new SplittableRandom(seed ^ id.hashCode() * 0x9E3779B97F4A7C15L).nextBoolean();
            return new PairRecord(id, conversation, chosenFirst ? chosen : rejected, chosenFirst ? rejected : chosen,
                    chosenFirst ? "A" : "B", subset, chosenFirst ? "chosen=A" : "chosen=B");
        }
        String label = null;
        if (o.has("label") && !o.get("label").isNull()) {
            label = o.get("label").asText();
            if (!label.equals("A") && !label.equals("B")) {
                throw new BadRecord("\"label\" must be \"A\" or \"B\", got \"" + label + "\"");
            }
        }
        return new PairRecord(id, conversation, text(o, "response_a"), text(o, "response_b"), label, subset, null);
    }

    private static String id(JsonNode o, int lineNumber) throws BadRecord {
        for (String field : List.of("id", "pair_id")) {
            JsonNode n = o.get(field);
            if (n != null && !n.isNull()) {
                if (!n.isTextual() && !n.isIntegralNumber()) {
                    throw new BadRecord("\"" + field + "\" must be a string or an integer, got " + SftRecordParser.kind(n));
                }
                return n.asText();
            }
        }
        return "line-" + lineNumber;
    }

    private static List<ChatMessage> conversation(JsonNode o) throws BadRecord {
        if (o.has("messages") == o.has("prompt")) {
            throw new BadRecord(o.has("prompt") ? "has both \"prompt\" and \"messages\"; give one"
                    : "has neither \"prompt\" nor \"messages\"");
        }
        if (o.has("prompt")) {
            return List.of(ChatMessage.user(text(o, "prompt")));
        }
        List<ChatMessage> messages = SftRecordParser.messages(o.get("messages"));
        if (!messages.getLast().role().equals(ChatMessage.USER)) {
            throw new BadRecord("\"messages\" must end with the user turn the responses answer");
        }
        return messages;
    }

    private static String text(JsonNode o, String field) throws BadRecord {
        if (!o.has(field)) {
            throw new BadRecord("has no \"" + field + "\"");
        }
        return SftRecordParser.string(o, field, "\"" + field + "\"");
    }
}
