package org.reflectrm.api;

import java.util.List;
import java.util.Objects;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * Two responses to judge and the conversation they continue.
 *
 * @param id           optional; when set, the pair's sampling is seeded from the options' seed and
 *                     this id, so a pair gets the same judgment whatever else is in its batch (as
 *                     {@code judge --input} does); when null, from the seed alone
 * @param conversation the messages before the responses, at least one (roles, reasoning and tool
 *                     calls as Qwen3's chat template renders them)
 * @param responseA    response A
 * @param responseB    response B
 */
public record Pair(String id, List<ChatMessage> conversation, String responseA, String responseB) {
    public Pair {
        conversation = List.copyOf(conversation);
        if (conversation.isEmpty()) {
            throw new IllegalArgumentException("a pair needs at least one message before the responses");
        }
        Objects.requireNonNull(responseA, "responseA");
        Objects.requireNonNull(responseB, "responseB");
    }

    /** A pair answering one user prompt, with no id. */
    public static Pair of(String prompt, String responseA, String responseB) {
        return new Pair(null, List.of(ChatMessage.user(prompt)), responseA, responseB);
    }

    /**
     * The pair of a {@code judge --input} line, with its id (so seeded per id, as the command line
     * and the Spark job judge it); its label, subset and placement stay in the record.
     */
    public static Pair from(PairRecord record) {
        return new Pair(record.id(), record.conversation(), record.responseA(), record.responseB());
    }

    /** This pair with an id (see {@link Pair}). */
    public Pair withId(String newId) {
        return new Pair(newId, conversation, responseA, responseB);
    }
}
