package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.train.data.SftFuzzTest;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/**
 * Mutated `judge --input` lines of every accepted format (seeded byte flips, truncations,
 * deletions, JSON punctuation, invalid UTF-8, chat-template tokens): a line either parses into a
 * complete pair or is rejected with {@link BadRecord} and a message; nothing else is thrown, so
 * a batch reports the line and goes on.
 */
class PairRecordFuzzTest {
    private static final List<String> SEEDS = List.of(
            "{\"id\": \"p1\", \"prompt\": \"What is 2+2?\", \"response_a\": \"4\", \"response_b\": \"5\", \"label\": \"A\"}",
            "{\"id\": 7, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"},"
                    + " {\"role\": \"user\", \"content\": \"and?\"}], \"response_a\": \"x\", \"response_b\": \"y\", \"subset\": \"s\"}",
            "{\"prompt\": \"Name a prime.\", \"chosen\": \"7\", \"rejected\": \"8\", \"subset\": \"math\"}",
            "{\"pair_id\": \"jb-1\", \"question\": \"q?\", \"response_A\": \"a\", \"response_B\": \"b\", \"label\": \"B>A\","
                    + " \"source\": \"mmlu\"}");

    @Test
    void mutatedLinesParseOrAreRejectedWithAMessage() {
        Random r = new Random(20261126L);
        int parsed = 0, rejected = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] line = SftFuzzTest.mutate(SEEDS.get(r.nextInt(SEEDS.size())).getBytes(StandardCharsets.UTF_8), r);
            String text = new String(line, StandardCharsets.UTF_8);
            try {
                PairRecord p = PairRecord.parse(text, i + 1, 42);
                assertNotNull(p.id(), text);
                assertNotNull(p.responseA(), text);
                assertNotNull(p.responseB(), text);
                assertFalse(p.conversation().isEmpty(), text);
                parsed++;
            } catch (BadRecord e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "empty message for " + text);
                rejected++;
            } catch (RuntimeException e) {
                fail("line " + text + " threw " + e, e);
            }
        }
        // The mutations must exercise both outcomes, or the test proves little.
        assertTrue(parsed > 100 && rejected > 100, parsed + " parsed, " + rejected + " rejected");
    }
}
