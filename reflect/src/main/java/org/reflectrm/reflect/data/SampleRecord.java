package org.reflectrm.reflect.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One line of SAMPLES.jsonl ({@code data sample}'s output, {@code data build}'s input): a
 * labelled pair as it was shown and the N analyses sampled for it.
 * <pre>{@code
 * {"id", "order": "AB"|"BA", "label": "A"|"B", "template": V, "n_correct": k,
 *  "samples": [{"analysis", "verdict": "A"|"B"|null, "correct", "confidence", "tokens", "text"}, ...],
 *  "messages": [{"role", "content"}, ...], "response_1", "response_2", "subset"?}
 * }</pre>
 * Letters name slots as shown: "A" is {@code response_1}, "B" is {@code response_2}. The pair is
 * stored as shown (conversation and both responses) so the judge's prompt can be rendered again
 * without the input file; {@code text} is the whole generated output (the SFT target).
 *
 * <p>Reading needs only what {@code data build} uses (everything but {@code analysis},
 * {@code confidence} and {@code tokens}), so samples from another sampler can be built from too;
 * what is there must agree: each verdict with its text, {@code correct} with verdict and label.
 */
public record SampleRecord(String id, String order, String label, String template, List<ChatMessage> messages,
                           String response1, String response2, String subset, List<Sample> samples) {

    /** One sampled analysis; {@code verdict} is the slot it chose as shown, or null when unparseable. */
    public record Sample(String text, String analysis, String verdict, boolean correct, Double confidence, int tokens) {
        public boolean parsed() {
            return verdict != null;
        }
    }

    public SampleRecord {
        messages = List.copyOf(messages);
        samples = List.copyOf(samples);
    }

    /** How many samples chose the label. */
    public int nCorrect() {
        return (int) samples.stream().filter(Sample::correct).count();
    }

    /** 1 or 2: the better slot as shown. */
    public int labelSlot() {
        return slot(label);
    }

    static int slot(String letter) {
        return letter.equals("A") ? 1 : 2;
    }

    static String letter(Integer slot) {
        return slot == null ? null : slot == 1 ? "A" : "B";
    }

    public ObjectNode toJson(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("id", id);
        o.put("order", order);
        o.put("label", label);
        o.put("template", template);
        o.put("n_correct", nCorrect());
        ArrayNode list = o.putArray("samples");
        for (Sample s : samples) {
            ObjectNode x = list.addObject();
            x.put("analysis", s.analysis());
            x.put("verdict", s.verdict());
            x.put("correct", s.correct());
            x.put("confidence", s.confidence());
            x.put("tokens", s.tokens());
            x.put("text", s.text());
        }
        o.set("messages", messagesJson(mapper, messages));
        o.put("response_1", response1);
        o.put("response_2", response2);
        if (subset != null) {
            o.put("subset", subset);
        }
        return o;
    }

    /** Chat messages as {@code [{"role", "content", "reasoning_content"?}]}, as SFT data and TRL write them. */
    static ArrayNode messagesJson(ObjectMapper mapper, List<ChatMessage> messages) {
        ArrayNode list = mapper.createArrayNode();
        for (ChatMessage m : messages) {
            ObjectNode x = list.addObject();
            x.put("role", m.role());
            x.put("content", m.content());
            if (m.reasoningContent() != null) {
                x.put("reasoning_content", m.reasoningContent());
            }
        }
        return list;
    }

    /** Parses one line; the message of a {@link BadRecord} says what is wrong, without file and line. */
    public static SampleRecord parse(String line) throws BadRecord {
        JsonNode o = SftRecordParser.object(line, "of data sample's output");
        JsonNode idNode = o.get("id");
        if (idNode == null || !(idNode.isTextual() || idNode.isIntegralNumber())) {
            throw new BadRecord(idNode == null ? "has no \"id\"" : "\"id\" must be a string or an integer, got "
                    + SftRecordParser.kind(idNode));
        }
        if (!o.hasNonNull("label")) {
            throw new BadRecord("has no \"label\": data build needs labelled pairs");
        }
        String label = letterField(o, "label", "\"label\"");
        String order = SftRecordParser.string(o, "order", "\"order\"");
        if (!order.equals("AB") && !order.equals("BA")) {
            throw new BadRecord("\"order\" must be \"AB\" or \"BA\", got \"" + order + "\"");
        }
        String template = SftRecordParser.string(o, "template", "\"template\"");
        if (!o.has("messages")) {
            throw new BadRecord("has no \"messages\"");
        }
        List<ChatMessage> messages = SftRecordParser.messages(o.get("messages"));
        String response1 = SftRecordParser.string(o, "response_1", "\"response_1\"");
        String response2 = SftRecordParser.string(o, "response_2", "\"response_2\"");
        String subset = o.hasNonNull("subset") ? o.get("subset").asText() : null;
        JsonNode list = o.get("samples");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new BadRecord("\"samples\" must be a non-empty list, got " + SftRecordParser.kind(list));
        }
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            samples.add(sample(list.get(i), "\"samples\"[" + i + "]", label));
        }
        SampleRecord r = new SampleRecord(idNode.asText(), order, label, template, messages, response1, response2,
                subset, samples);
        if (o.has("n_correct") && o.get("n_correct").asInt(-1) != r.nCorrect()) {
            throw new BadRecord("\"n_correct\" is " + o.get("n_correct") + " but " + r.nCorrect()
                    + " samples are correct");
        }
        return r;
    }

    private static Sample sample(JsonNode s, String where, String label) throws BadRecord {
        if (!s.isObject()) {
            throw new BadRecord(where + " must be an object, got " + SftRecordParser.kind(s));
        }
        String text = SftRecordParser.string(s, "text", where + " \"text\"");
        if (!s.has("verdict")) {
            throw new BadRecord(where + " has no \"verdict\"");
        }
        String verdict = s.get("verdict").isNull() ? null : letterField(s, "verdict", where + " \"verdict\"");
        Verdict parsed = Verdict.parse(text, Verdict.Kind.RESPONSE);
        if (!java.util.Objects.equals(verdict, letter(parsed.choice()))) {
            throw new BadRecord(where + " \"verdict\" is " + (verdict == null ? "null" : "\"" + verdict + "\"")
                    + " but its \"text\" gives " + (parsed.parsed() ? "\"" + letter(parsed.choice()) + "\"" : "no verdict"));
        }
        JsonNode correct = s.get("correct");
        if (correct == null || !correct.isBoolean()) {
            throw new BadRecord(where + " \"correct\" must be true or false, got " + SftRecordParser.kind(correct));
        }
        if (correct.booleanValue() != label.equals(verdict)) {
            throw new BadRecord(where + " \"correct\" is " + correct.booleanValue() + " but its verdict is "
                    + (verdict == null ? "null" : "\"" + verdict + "\"") + " and the label \"" + label + "\"");
        }
        String analysis = s.hasNonNull("analysis") ? s.get("analysis").asText() : parsed.analysis();
        Double confidence = s.hasNonNull("confidence") ? s.get("confidence").asDouble() : null;
        int tokens = s.hasNonNull("tokens") ? s.get("tokens").asInt() : 0;
        return new Sample(text, analysis, verdict, correct.booleanValue(), confidence, tokens);
    }

    private static String letterField(JsonNode o, String field, String where) throws BadRecord {
        String v = SftRecordParser.string(o, field, where);
        if (!v.equals("A") && !v.equals("B")) {
            throw new BadRecord(where + " must be \"A\" or \"B\" (the slot as shown), got \"" + v + "\"");
        }
        return v;
    }
}
