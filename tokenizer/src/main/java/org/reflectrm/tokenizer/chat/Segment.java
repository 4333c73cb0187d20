package org.reflectrm.tokenizer.chat;

import java.util.Objects;

/**
 * A piece of a rendered chat.
 *
 * @param text      the piece's text; the texts of all segments of a rendering concatenate to the rendering
 * @param structure {@code true} for text the template itself produces (role headers, {@code <|im_start|>},
 *                  {@code <|im_end|>}, newlines, {@code <think>} wrappers, the empty think block, tool-call and
 *                  tool-response wrappers, the tools preamble): tokenize it WITH added-token matching.
 *                  {@code false} for caller-supplied text (message content, reasoning, tool JSON, tool-call names
 *                  and arguments): tokenize it with NO added-token matching, so a {@code <|im_end|>} typed by a
 *                  user stays plain text
 */
public record Segment(String text, boolean structure) {
    public Segment {
        Objects.requireNonNull(text, "text");
    }
}
