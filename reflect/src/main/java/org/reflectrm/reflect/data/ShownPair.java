package org.reflectrm.reflect.data;

import java.util.List;
import java.util.Random;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * A labelled pair as the judge is shown it: responses in slots 1 and 2, {@code order} "AB" (A in
 * slot 1) or "BA", and {@code label} the better slot as shown, "A" for slot 1 and "B" for slot 2.
 * The order is a seeded coin per pair, so the judge is trained on both positions of the better
 * response and cannot learn a position bias from the data.
 */
public record ShownPair(String id, List<ChatMessage> conversation, String response1, String response2, String order,
                        String label, String subset) {

    /**
     * Shows {@code pair} in the order its coin gives under {@code seed}; the coin is drawn from
     * the seed and the id only, so a resumed run shows every pair as the first run did.
     *
     * @throws IllegalArgumentException if the pair has no label (callers report it with its line)
     */
    public static ShownPair of(PairRecord pair, long seed) {
        if (pair.label() == null) {
            throw new IllegalArgumentException("pair " + pair.id() + " has no label");
        }
        boolean swapped = swapped(seed, pair.id());
        String label = swapped ? (pair.label().equals("A") ? "B" : "A") : pair.label();
        return new ShownPair(pair.id(), pair.conversation(), swapped ? pair.responseB() : pair.responseA(),
                swapped ? pair.responseA() : pair.responseB(), swapped ? "BA" : "AB", label, pair.subset());
    }

    /**
     * Whether pair {@code id} is shown B first. Its own stream of the seed: chosen/rejected input
     * is already placed by {@link PairRecord}'s coin from the same seed and id, and the same coin
     * again would always show the chosen response first.
     */
    static boolean swapped(long seed, String id) {
        return new Random(PairSeeds.of(seed, PairSeeds.ORDER, id)).nextBoolean();
    }

    /** What the judge is asked. */
    public Judge.Item item() {
        return new Judge.Item(conversation, response1, response2);
    }
}
