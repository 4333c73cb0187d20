package org.reflectrm.reflect.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * The lines of DATA.jsonl. GRPO records ({@code train grpo}, and TRL's GRPOTrainer, whose
 * conversational {@code prompt} format they use):
 * <pre>{@code
 * {"task": "pref"|"refl", "prompt": [{"role": "user", "content": RENDERED}],
 *  "verdict_kind": "response"|"critique", "label": 1|2, "template_version": V,
 *  "pair_id": ID, "order": "AB"|"BA", "samples": [i, j] (refl only)}
 * }</pre>
 * RENDERED is the judge's prompt exactly as the judge renders it, so the trained model is asked
 * what it will be asked; {@code label} is the better slot in it. SFT records ({@code train sft}):
 * <pre>{@code
 * {"messages": [{"role": "user", "content": RENDERED},
 *               {"role": "assistant", "content": TEXT, "reasoning_content": ""}],
 *  "task": "pref", "template_version": V, "pair_id": ID, "order": "AB"|"BA", "sample": i}
 * }</pre>
 * The empty {@code reasoning_content} makes the chat template render the analysis as written,
 * after an empty think block: the judge generates after the no-thinking generation prompt, so
 * the target is exactly what the judge produced (and a stray {@code </think>} in it is not split
 * off as reasoning).
 */
final class TrainingRecords {
    private TrainingRecords() {
    }

    /** Response preference: which response is better. */
    static ObjectNode pref(ObjectMapper mapper, SampleRecord pair, JudgeTemplate template) {
        String prompt = template.renderResponse(JudgeTemplate.context(pair.messages()), pair.response1(), pair.response2());
        return grpo(mapper, "pref", prompt, "response", pair.labelSlot(), template, pair);
    }

    /**
     * Self-reflection: which of two critiques of the pair is better, sample {@code first} shown as
     * critique 1 and {@code second} as critique 2 (one correct, one wrong); the label is the
     * correct one's slot. Each critique is shown as the judge's second stage shows a rollout.
     */
    static ObjectNode refl(ObjectMapper mapper, SampleRecord pair, int first, int second, JudgeTemplate template) {
        String prompt = template.renderAnalysis(JudgeTemplate.context(pair.messages()), pair.response1(),
                pair.response2(), critique(pair, first), critique(pair, second));
        int label = pair.samples().get(first).correct() ? 1 : 2;
        ObjectNode o = grpo(mapper, "refl", prompt, "critique", label, template, pair);
        o.putArray("samples").add(first).add(second);
        return o;
    }

    /** Rejection-sampling SFT: the Pref prompt and one of its correct analyses as the answer. */
    static ObjectNode sft(ObjectMapper mapper, SampleRecord pair, int sample, JudgeTemplate template) {
        String prompt = template.renderResponse(JudgeTemplate.context(pair.messages()), pair.response1(), pair.response2());
        ObjectNode o = mapper.createObjectNode();
        ArrayNode messages = o.putArray("messages");
        messages.addObject().put("role", ChatMessage.USER).put("content", prompt);
        messages.addObject().put("role", ChatMessage.ASSISTANT).put("content", pair.samples().get(sample).text())
                .put("reasoning_content", "");
        o.put("task", "pref");
        o.put("template_version", template.version());
        o.put("pair_id", pair.id());
        o.put("order", pair.order());
        o.put("sample", sample);
        return o;
    }

    private static String critique(SampleRecord pair, int sample) {
        return JudgePrompts.critique(Verdict.parse(pair.samples().get(sample).text(), Verdict.Kind.RESPONSE));
    }

    private static ObjectNode grpo(ObjectMapper mapper, String task, String prompt, String verdictKind, int label,
                                   JudgeTemplate template, SampleRecord pair) {
        ObjectNode o = mapper.createObjectNode();
        o.put("task", task);
        o.putArray("prompt").addObject().put("role", ChatMessage.USER).put("content", prompt);
        o.put("verdict_kind", verdictKind);
        o.put("label", label);
        o.put("template_version", template.version());
        o.put("pair_id", pair.id());
        o.put("order", pair.order());
        return o;
    }
}
