package org.reflectrm.reflect.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One comparison of a benchmark: two responses to one conversation, placed as A and B, and which
 * of them is better. {@code eval} judges it in both presentation orders: "AB" as placed, "BA"
 * swapped.
 *
 * @param id           unique within the benchmark file (a JudgeBench pair, an RM-Bench cell, an RMB BoN loser)
 * @param group        the item the official score aggregates over: the JudgeBench pair, the RM-Bench prompt,
 *                     the RMB BoN item (equal to {@code id} where each comparison stands alone)
 * @param subset       the subset metrics are broken down by (category, domain, section)
 * @param conversation the turns both responses continue (the last is the user's)
 * @param label        "A" or "B": the better response as placed
 * @param meta         benchmark-specific keys the official score needs (RM-Bench {@code i}, {@code j} and
 *                     {@code domain}; RMB {@code set} and {@code loser}), copied into every judgment record
 */
public record Comparison(String id, String group, String subset, List<ChatMessage> conversation, String responseA,
                         String responseB, String label, ObjectNode meta) {
    public Comparison {
        if (!label.equals("A") && !label.equals("B")) {
            throw new IllegalArgumentException("label must be A or B, got " + label);
        }
        conversation = List.copyOf(conversation);
    }
}
