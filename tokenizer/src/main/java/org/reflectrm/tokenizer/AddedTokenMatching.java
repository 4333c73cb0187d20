package org.reflectrm.tokenizer;

/** Which added tokens the encoder recognises when their text appears in the input. */
public enum AddedTokenMatching {
    /** Every added token, special or not: Hugging Face's default ({@code tokenizer.encode(text)}). */
    ALL,
    /**
     * Only the non-special added tokens ({@code <think>}, {@code <tool_call>} in Qwen3): what Hugging Face
     * does with {@code encode_special_tokens=True} / transformers' {@code split_special_tokens=True}.
     * Not safe for untrusted text.
     */
    NON_SPECIAL,
    /** No added token at all: text such as {@code <|im_end|>} or {@code <think>} is encoded as plain text. */
    NONE
}
