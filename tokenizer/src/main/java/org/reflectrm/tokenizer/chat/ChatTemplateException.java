package org.reflectrm.tokenizer.chat;

/**
 * A chat template or a conversation that {@link Qwen3ChatTemplate} cannot render exactly as transformers would:
 * an unrecognised template text, an unsupported role or field, or an input on which transformers itself raises.
 */
public class ChatTemplateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }
}
