package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;

/** Reading SAMPLES.jsonl: what data build needs, checked for agreement, errors naming line and field. */
class SampleRecordTest {
    static String said(int slot) {
        return "<Analysis>why " + slot + "</Analysis><Result>" + Verdict.Kind.RESPONSE.sentence(slot) + "</Result>";
    }

    static String line(String id, String label, String samples) {
        return "{\"id\": \"" + id + "\", \"order\": \"BA\", " + (label == null ? "" : "\"label\": \"" + label + "\", ")
                + "\"template\": \"v1\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}], "
                + "\"response_1\": \"r1\", \"response_2\": \"r2\", \"samples\": [" + samples + "]}";
    }

    static String sample(int slot, boolean correct) {
        return "{\"text\": \"" + said(slot).replace("\"", "\\\"") + "\", \"verdict\": \"" + (slot == 1 ? "A" : "B")
                + "\", \"correct\": " + correct + "}";
    }

    static final String UNPARSED = "{\"text\": \"hmm\", \"verdict\": null, \"correct\": false}";

    @Test
    void readsWhatBuildNeeds() throws BadRecord {
        SampleRecord r = SampleRecord.parse(line("p", "B", sample(2, true) + ", " + sample(1, false) + ", " + UNPARSED));
        assertEquals("p", r.id());
        assertEquals(2, r.labelSlot());
        assertEquals(1, r.nCorrect());
        assertEquals("why 2", r.samples().getFirst().analysis());
        assertEquals(3, r.samples().size());
        assertTrue(!r.samples().get(2).parsed() && r.samples().get(1).parsed());
    }

    @Test
    void refusesWhatDisagreesOrIsMissing() {
        bad(line("p", null, sample(1, true)), "has no \"label\"");
        bad(line("p", "C", sample(1, true)), "\"label\" must be \"A\" or \"B\"");
        bad(line("p", "A", sample(1, false)), "\"samples\"[0] \"correct\" is false");
        bad(line("p", "A", sample(2, false).replace("\"B\"", "\"A\"")), "\"samples\"[0] \"verdict\" is \"A\" but its \"text\" gives \"B\"");
        bad(line("p", "A", UNPARSED.replace("null", "\"A\"")), "gives no verdict");
        bad(line("p", "A", ""), "\"samples\" must be a non-empty list");
        bad(line("p", "A", sample(1, true)).replace("\"BA\"", "\"AA\""), "\"order\" must be");
        bad(line("p", "A", sample(1, true)).replace("\"template\"", "\"n_correct\": 0, \"template\""), "\"n_correct\" is 0 but 1");
        bad(line("p", "A", sample(1, true)).replace("\"response_2\": \"r2\", ", ""), "has no \"response_2\"");
    }

    private static void bad(String line, String fragment) {
        BadRecord e = assertThrows(BadRecord.class, () -> SampleRecord.parse(line), line);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void aFileIsOneSamplingRun() {
        String ok1 = line("p1", "A", sample(1, true) + ", " + sample(2, false));
        String ok2 = line("p2", "B", sample(1, false) + ", " + sample(2, true));
        assertEquals(2, SamplesFile.read(bytes(ok1 + "\n\n" + ok2 + "\n"), "s.jsonl").size());
        fileBad(ok1 + "\n" + ok1, "s.jsonl line 2: pair \"p1\" again (first on line 1)");
        fileBad(ok1 + "\n" + line("p3", "A", sample(1, true)), "s.jsonl line 2: 1 samples, but line 1 has 2");
        fileBad(ok1 + "\n" + ok2.replace("\"v1\"", "\"v2\""), "s.jsonl line 2: template \"v2\"");
        fileBad(ok1 + "\n" + line("p4", null, sample(1, true)), "s.jsonl line 2: has no \"label\"");
        fileBad(ok1 + "\n{oops", "s.jsonl line 2: not valid JSON");
        fileBad("\n", "s.jsonl: no sampled pairs");
    }

    private static void fileBad(String text, String fragment) {
        BadInputException e = assertThrows(BadInputException.class, () -> SamplesFile.read(bytes(text), "s.jsonl"));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
