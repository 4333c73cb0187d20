package org.reflectrm.reflect.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.judge.TextGenerator;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/** data sample's records against a scripted judge that reads the prompt it is shown. */
class PairSamplerTest {
    private static final Tokenizer TOKENIZER = Tokenizer.qwen3();
    private static final JudgePrompts PROMPTS =
            new JudgePrompts(TOKENIZER, Qwen3ChatTemplate.current(), JudgeTemplate.bundled("v1"));

    /**
     * Sample j of a pair picks the slot where the prompt shows "GOOD" when {@code right[j]}, the
     * other slot otherwise, and writes no verdict when {@code right[j]} is null; it "generates"
     * j+2 tokens.
     */
    private record Script(Boolean[] right) implements TextGenerator {
        @Override
        public List<Output> generate(List<int[]> prompts, double temperature, long seed, int maxNewTokens) {
            List<Output> out = new ArrayList<>();
            for (int j = 0; j < prompts.size(); j++) {
                String prompt = TOKENIZER.decode(prompts.get(j), false);
                int good = prompt.indexOf("GOOD") < prompt.indexOf("BAD") ? 1 : 2;
                String text = right[j] == null ? "no idea " + j
                        : "<Analysis>sample " + j + "</Analysis><Result>"
                        + Verdict.Kind.RESPONSE.sentence(right[j] ? good : 3 - good) + "</Result>";
                out.add(new Output(text, new int[j + 2], new float[j + 2]));
            }
            return out;
        }
    }

    private static ShownPair shown(String id, boolean goodIsA, long seed) throws Exception {
        String a = goodIsA ? "GOOD" : "BAD", b = goodIsA ? "BAD" : "GOOD";
        return ShownPair.of(PairRecord.parse("{\"id\": \"" + id + "\", \"prompt\": \"q\", \"response_a\": \"" + a
                + "\", \"response_b\": \"" + b + "\", \"label\": \"" + (goodIsA ? "A" : "B") + "\"}", 1, seed), seed);
    }

    @Test
    void verdictsAreSlotsAsShownAndScoredAgainstTheShownLabel() throws Exception {
        Boolean[] right = {true, false, null, true};
        PairSampler sampler = new PairSampler(new Judge(new Script(right), PROMPTS), 4, 1.0, 9, 32);
        List<ShownPair> pairs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            pairs.add(shown("p" + i, i % 2 == 0, 9));
        }
        assertTrue(pairs.stream().anyMatch(p -> p.order().equals("AB")) && pairs.stream().anyMatch(p -> p.order().equals("BA")));
        List<SampleRecord> records = sampler.sample(pairs);
        assertEquals(pairs.size(), records.size());
        for (int k = 0; k < pairs.size(); k++) {
            ShownPair p = pairs.get(k);
            SampleRecord r = records.get(k);
            assertEquals(p.id(), r.id());
            assertEquals(p.order(), r.order());
            assertEquals(p.label(), r.label());
            assertEquals("v1", r.template());
            assertEquals(p.response1(), r.response1());
            assertEquals("GOOD", r.label().equals("A") ? r.response1() : r.response2(), "the label is GOOD's slot");
            String wrong = r.label().equals("A") ? "B" : "A";
            assertEquals(List.of(r.label(), wrong), List.of(r.samples().get(0).verdict(), r.samples().get(1).verdict()));
            assertNull(r.samples().get(2).verdict());
            assertEquals(List.of(true, false, false, true), r.samples().stream().map(SampleRecord.Sample::correct).toList());
            assertEquals(2, r.nCorrect());
            assertEquals(List.of(2, 3, 4, 5), r.samples().stream().map(SampleRecord.Sample::tokens).toList());
            assertEquals("sample 0", r.samples().getFirst().analysis());
            assertTrue(r.samples().getFirst().text().contains("<Result>"));
        }
    }

    @Test
    void recordsSurviveTheirJsonLine() throws Exception {
        PairSampler sampler = new PairSampler(new Judge(new Script(new Boolean[] {false, null, true}), PROMPTS), 3, 1.0, 1, 32);
        ObjectMapper mapper = new ObjectMapper();
        for (SampleRecord r : sampler.sample(List.of(shown("x", true, 1), shown("y", false, 1)))) {
            String line = mapper.writeValueAsString(r.toJson(mapper));
            assertEquals(r, SampleRecord.parse(line), line);
            assertEquals(1, mapper.readTree(line).get("n_correct").asInt());
        }
    }
}
