package org.reflectrm.model.judge;

import java.util.List;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * Token ids of the two judge prompts: the filled template as the user turn of the chat template,
 * with the generation prompt and thinking off (the analysis is visible text, not a think block).
 * The whole user turn, judged texts included, is encoded with special-token matching off, so a
 * response containing {@code <|im_end|>} or {@code <|im_start|>assistant} stays text and cannot
 * end the turn or open a forged one.
 */
public final class JudgePrompts {
    private final Tokenizer tokenizer;
    private final Qwen3ChatTemplate chat;
    private final JudgeTemplate template;

    public JudgePrompts(Tokenizer tokenizer, Qwen3ChatTemplate chat, JudgeTemplate template) {
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.template = template;
    }

    public JudgeTemplate template() {
        return template;
    }

    /** The response-preference prompt for a conversation and two responses. */
    public int[] response(List<ChatMessage> conversation, String response1, String response2) {
        return encode(template.renderResponse(JudgeTemplate.context(conversation), response1, response2));
    }

    /**
     * The self-reflection prompt: two critiques (each an analysis with its verdict sentence, see
     * {@link #critique}) of the same two responses.
     */
    public int[] analysis(List<ChatMessage> conversation, String response1, String response2, String critique1,
                          String critique2) {
        return encode(template.renderAnalysis(JudgeTemplate.context(conversation), response1, response2, critique1, critique2));
    }

    /** A judgment as a critique in the reflection prompt: its analysis, then its verdict sentence. */
    public static String critique(Verdict v) {
        return v.analysis() + "\n\nVerdict: " + Verdict.Kind.RESPONSE.sentence(v.choice());
    }

    private int[] encode(String userTurn) {
        return encodeChat(tokenizer, chat, List.of(ChatMessage.user(userTurn)));
    }

    /**
     * A judge conversation as the model is prompted with it: the chat template with the
     * generation prompt and thinking off, every message's content encoded as untrusted text.
     */
    public static int[] encodeChat(Tokenizer tokenizer, Qwen3ChatTemplate chat, List<ChatMessage> messages) {
        return chat.encode(messages, true, false, tokenizer::encode, tokenizer::encodeUntrusted);
    }
}
