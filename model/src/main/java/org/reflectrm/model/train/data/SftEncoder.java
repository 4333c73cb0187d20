package org.reflectrm.model.train.data;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;
import org.reflectrm.tokenizer.chat.Segment;

/**
 * Tokenizes a conversation with the Qwen3 chat template ({@code add_generation_prompt=False}) and marks the
 * tokens the model is trained on.
 *
 * <p><b>Ids.</b> The same ids as {@link Qwen3ChatTemplate#encode} with {@code Tokenizer::encode} for structure
 * and {@code Tokenizer::encodeUntrusted} for content: the template's own added tokens ({@code <|im_start|>},
 * {@code <|im_end|>}, {@code <think>}, ...) become their ids, each stretch of text between two of them (template
 * text such as {@code "assistant\n"} together with the adjacent message content) is encoded as one string with
 * no added-token matching. So a benign conversation gets exactly transformers'
 * {@code apply_chat_template(messages, tokenize=True)} ids, and a {@code <|im_end|>} typed inside a message is
 * plain text that cannot forge structure. The walk is repeated here (rather than calling {@code encode}) because
 * the mask needs to know where each assistant turn starts and ends.
 *
 * <p><b>Loss mask</b> (TRL's assistant-only loss with Qwen's {@code {% generation %}} tags): for every assistant
 * turn, the tokens after {@code <|im_start|>assistant\n} up to and including its {@code <|im_end|>}; the
 * {@code "\n"} after {@code <|im_end|>} and all system/user turns are not targets. For the last assistant turn
 * (and any after the last user message that has reasoning) the template writes a think block
 * {@code <think>\nREASONING\n</think>\n\n} before the content; it lies inside the turn and IS in the loss, as in
 * TRL's Qwen3 training template, which puts the whole think block inside the generation block: the model learns
 * to write the (possibly empty) think block itself. A token that straddles the start of the turn (content
 * beginning with {@code "\n"} merges with the template's {@code "\n"} into one token) counts as inside, as
 * transformers' {@code return_assistant_tokens_mask} counts a token holding the turn's first character.
 */
public final class SftEncoder {

    private static final String IM_START = "<|im_start|>";
    private static final String IM_END = "<|im_end|>";
    private static final String ASSISTANT_HEADER = ChatMessage.ASSISTANT + "\n";
    private static final int ASSISTANT_HEADER_BYTES = ASSISTANT_HEADER.getBytes(StandardCharsets.UTF_8).length;

    private final Tokenizer tokenizer;
    private final Qwen3ChatTemplate template;
    private final Map<String, Integer> structureIds = new HashMap<>();

    public SftEncoder(Tokenizer tokenizer, Qwen3ChatTemplate template) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.template = Objects.requireNonNull(template, "template");
        for (String t : Qwen3ChatTemplate.TEMPLATE_ADDED_TOKENS) {
            int[] ids = tokenizer.encode(t);
            if (ids.length != 1) {
                throw new IllegalArgumentException("tokenizer " + tokenizer.source() + " does not have \"" + t
                        + "\" as one added token (got " + ids.length + " ids); it is not a Qwen3 tokenizer");
            }
            structureIds.put(t, ids[0]);
        }
    }

    /**
     * The whole conversation's ids and loss mask (not truncated).
     *
     * @throws org.reflectrm.tokenizer.chat.ChatTemplateException if the template refuses the messages
     */
    public SftExample encode(String id, List<ChatMessage> messages) {
        Walk w = new Walk();
        Qwen3ChatTemplate.walk(template.renderSegments(messages, false, false), new Qwen3ChatTemplate.TokenWalk() {
            @Override
            public void text(String run) {
                w.text(run);
            }

            @Override
            public void addedToken(String token, String segment, int after) {
                // "<|im_start|>" + role + "\n" is one template write, so the role lies in this structure segment
                w.structure(token, IM_START.equals(token) && segment.startsWith(ASSISTANT_HEADER, after));
            }
        });
        return new SftExample(id, Arrays.copyOf(w.ids, w.n), Arrays.copyOf(w.mask, w.n));
    }

    /** The token stream being built, with the assistant-turn state. */
    private final class Walk {
        int[] ids = new int[256];
        boolean[] mask = new boolean[256];
        int n;
        /** Inside an assistant turn (after its {@code <|im_start|>}, up to its {@code <|im_end|>}). */
        boolean inAssistant;
        /** Bytes of the turn's {@code "assistant\n"} header not yet covered by emitted tokens. */
        int headerBytesLeft;

        /** Encodes a stretch of text between two template added tokens (no added-token matching). */
        void text(String run) {
            int[] tokens = tokenizer.encodeUntrusted(run);
            String[] pieces = inAssistant && headerBytesLeft > 0 ? tokenizer.tokens(tokens) : null;
            for (int i = 0; i < tokens.length; i++) {
                boolean target = inAssistant;
                if (pieces != null && headerBytesLeft > 0) {
                    // byte-level BPE: one char of a vocabulary token's string is one byte of text
                    int len = pieces[i].length();
                    target = len > headerBytesLeft; // a token reaching past the header holds turn text
                    headerBytesLeft = Math.max(0, headerBytesLeft - len);
                }
                add(tokens[i], target);
            }
        }

        void structure(String token, boolean opensAssistantTurn) {
            if (inAssistant && headerBytesLeft > 0) {
                throw new IllegalStateException("assistant turn header not fully encoded before " + token);
            }
            add(structureIds.get(token), inAssistant);
            if (IM_END.equals(token)) {
                inAssistant = false;
            }
            if (opensAssistantTurn) {
                inAssistant = true;
                headerBytesLeft = ASSISTANT_HEADER_BYTES;
            }
        }

        private void add(int id, boolean target) {
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n * 2);
                mask = Arrays.copyOf(mask, n * 2);
            }
            ids[n] = id;
            mask[n] = target;
            n++;
        }
    }
}
