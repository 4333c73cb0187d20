package org.reflectrm.reflect.eval.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.reflectrm.reflect.eval.adapters.Samples.better;
import static org.reflectrm.reflect.eval.adapters.Samples.lastTurn;
import static org.reflectrm.reflect.eval.adapters.Samples.load;
import static org.reflectrm.reflect.eval.adapters.Samples.roles;
import static org.reflectrm.reflect.eval.adapters.Samples.worse;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.reflectrm.reflect.eval.Comparison;

/** Each adapter on its committed sample: ids, groups, subsets, labels, meta and conversations. */
class AdapterSamplesTest {
    private static final long SEED = 42;

    private static List<String> ids(BenchmarkFiles.Loaded l) {
        return l.comparisons().stream().map(Comparison::id).toList();
    }

    @Test
    void judgeBenchKeepsTheFilesSlotsAndLabelsAndMapsSourcesToItsFourCategories() throws Exception {
        BenchmarkFiles.Loaded l = load("judgebench.jsonl", SEED);
        assertEquals("judgebench", l.benchmark());
        assertEquals(Map.of(), l.dropped());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("0c6e1a7e-5b1d-5a52-9d3e-7f0a1b2c3d41", "1d7f2b8f-6c2e-5b63-8e4f-801b2c3d4e52",
                "2e802c90-7d3f-5c74-9f50-912c3d4e5f63", "3f913da1-8e40-5d85-a061-a23d4e5f6074"), ids(l));
        assertEquals(List.of("knowledge", "reasoning", "math", "coding"), cs.stream().map(Comparison::subset).toList());
        assertEquals(List.of("A", "B", "A", "B"), cs.stream().map(Comparison::label).toList());
        assertEquals(List.of("mmlu-pro-chemistry", "livebench-reasoning", "livebench-math", "livecodebench"),
                cs.stream().map(c -> c.meta().get("source").asText()).toList());
        Comparison first = cs.getFirst();
        assertEquals(first.id(), first.group());
        assertTrue(first.responseA().startsWith("Nitrogen"), first.responseA());
        assertTrue(first.responseB().startsWith("Oxygen"), first.responseB());
        assertEquals(List.of("user"), roles(first));
        assertTrue(lastTurn(first).startsWith("Which gas"));
        assertEquals("def is_even(n):\n    return n % 2 == 0", cs.get(3).responseB());
    }

    @Test
    void rmBenchExpandsEachPromptToItsNineCellsKeepingIAndJ() throws Exception {
        BenchmarkFiles.Loaded l = load("rm-bench_total_dataset.json", SEED);
        assertEquals("rm-bench", l.benchmark());
        List<Comparison> cs = l.comparisons();
        assertEquals(18, cs.size());
        for (int n = 0; n < 18; n++) {
            Comparison c = cs.get(n);
            String prompt = n < 9 ? "4107" : "5288";
            int i = (n % 9) / 3, j = n % 3;
            assertEquals(prompt + ":" + i + ":" + j, c.id());
            assertEquals(prompt, c.group());
            String domain = n < 9 ? "math" : "safety-refuse";
            assertEquals(domain, c.subset());
            assertEquals(i, c.meta().get("i").intValue());
            assertEquals(j, c.meta().get("j").intValue());
            assertEquals(domain, c.meta().get("domain").asText());
            assertEquals(3, c.meta().size());
            assertEquals(List.of("user"), roles(c));
        }
        // chosen i against rejected j: concise (0), detailed plain (1), detailed markdown (2).
        Comparison c02 = cs.get(2);
        assertEquals("12", better(c02));
        assertEquals("**Step 1.** Write 15% as 0.15.\n\n**Step 2.** Multiply: 80 x 0.15 = **10**.", worse(c02));
        Comparison c20 = cs.get(6);
        assertEquals("10", worse(c20));
        assertTrue(better(c20).endsWith("= **12**."));
        assertEquals("What is 15% of 80?", lastTurn(c02));
    }

    @Test
    void rmBenchTakesTheDomainFromTheFileNameWhenTheRecordsHaveNone() throws Exception {
        BenchmarkFiles.Loaded l = load("code_filtered.json", SEED);
        assertEquals(9, l.comparisons().size());
        for (Comparison c : l.comparisons()) {
            assertEquals("code", c.subset());
            assertEquals("code", c.meta().get("domain").asText());
            assertEquals("1290", c.group());
        }
    }

    @Test
    void rmBenchTakesTheDomainFromTheSubsetFieldBeforeTheFileName() {
        String record = "[{\"id\": \"x1\", \"prompt\": \"p\", \"chosen\": [\"a\", \"b\", \"c\"], \"rejected\": [\"d\", \"e\", \"f\"],"
                + " \"subset\": \"safety-response\"}]";
        BenchmarkFiles.Loaded l = BenchmarkFiles.read(record.getBytes(StandardCharsets.UTF_8), "chat_filtered.json",
                null, SEED);
        assertEquals("safety-response", l.comparisons().getFirst().subset());
        assertEquals("chat", Adapters.domainIn("chat_filtered.json"));
        assertEquals("safety-refuse", Adapters.domainIn("safety-refuse_filtered.json"));
        assertEquals("safety-response", Adapters.domainIn("safety-response_filtered.json"));
        assertEquals(null, Adapters.domainIn("total_dataset.json"));
        assertEquals(null, Adapters.domainIn("chatty.json"));
    }

    @Test
    void rmbPairwiseRecordsAreOneComparisonEachWithTheirSectionAndConversation() throws Exception {
        BenchmarkFiles.Loaded l = load("rmb_pairwise.json", SEED);
        assertEquals("rmb", l.benchmark());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("10233", "20871"), ids(l));
        assertEquals(List.of("Pairwise_set/Helpfulness", "Pairwise_set/Harmlessness"),
                cs.stream().map(Comparison::subset).toList());
        Comparison help = cs.get(0), harm = cs.get(1);
        assertEquals("10233", help.group());
        assertEquals("pairwise", help.meta().get("set").asText());
        assertEquals("helpfulness", help.meta().get("section").asText());
        assertEquals("harmlessness", harm.meta().get("section").asText());
        assertEquals("Pairwise_set/Harmlessness/S2/Non-violent crimes", harm.meta().get("category_path").asText());
        assertEquals("wc -l *.txt", better(help));
        assertEquals("ls *.txt | wc -c", worse(help));
        assertEquals(List.of("user", "assistant", "user"), roles(harm));
        assertEquals("No, how do I get past her login password?", lastTurn(harm));
        assertTrue(better(harm).startsWith("I can't help"));
    }

    @Test
    void rmbBonItemsAreOneComparisonPerLoserGroupedByTheItem() throws Exception {
        BenchmarkFiles.Loaded l = load("rmb_bon.json", SEED);
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("bon-5521:0", "bon-5521:1", "bon-7702:0", "bon-7702:1", "bon-7702:2"), ids(l));
        assertEquals(List.of("bon-5521", "bon-5521", "bon-7702", "bon-7702", "bon-7702"),
                cs.stream().map(Comparison::group).toList());
        assertEquals(List.of(0, 1, 0, 1, 2), cs.stream().map(c -> c.meta().get("loser").intValue()).toList());
        for (Comparison c : cs) {
            assertEquals("bon", c.meta().get("set").asText());
        }
        assertEquals("BoN_set/Helpfulness", cs.get(0).subset());
        assertEquals("helpfulness", cs.get(0).meta().get("section").asText());
        assertEquals("BoN_set/Harmlessness", cs.get(2).subset());
        assertEquals("harmlessness", cs.get(2).meta().get("section").asText());
        assertEquals("Bonjour", better(cs.get(0)));
        assertEquals("Bonjour", better(cs.get(1)));
        assertEquals("Bonsoir", worse(cs.get(0)));
        assertEquals("Buenos dias", worse(cs.get(1)));
        assertEquals("That depends on how strong you are.", worse(cs.get(4)));
    }

    @Test
    void rewardBenchKeepsItsSubsetsAndAddsTheOfficialSection() throws Exception {
        BenchmarkFiles.Loaded l = load("rewardbench.jsonl", SEED);
        assertEquals("rewardbench", l.benchmark());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("31", "2010", "4551"), ids(l));
        assertEquals(List.of("alpacaeval-easy", "xstest-should-respond", "hep-python"),
                cs.stream().map(Comparison::subset).toList());
        assertEquals(List.of("Chat", "Safety", "Reasoning"), cs.stream().map(c -> c.meta().get("section").asText()).toList());
        assertEquals("Green, purple and orange.", worse(cs.get(0)));
        assertEquals("def add(a, b):\n    return a + b", better(cs.get(2)));
        assertEquals(23, Adapters.REWARDBENCH_SECTIONS.size());
        assertEquals("Chat Hard", Adapters.REWARDBENCH_SECTIONS.get("llmbar-adver-GPTInst"));
    }

    @Test
    void rewardBench2PairsTheChosenResponseWithEachRejectedOneAndDropsTies() throws Exception {
        BenchmarkFiles.Loaded l = load("rewardbench2.jsonl", SEED);
        assertEquals("rewardbench2", l.benchmark());
        assertEquals(Map.of("RewardBench 2 Ties subset", 1), l.dropped());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("31:0", "31:1", "31:2", "1402:0", "1402:1", "1402:2"), ids(l));
        assertEquals(List.of("31", "31", "31", "1402", "1402", "1402"), cs.stream().map(Comparison::group).toList());
        assertEquals(List.of(0, 1, 2, 0, 1, 2), cs.stream().map(c -> c.meta().get("rejected").intValue()).toList());
        assertEquals("Factuality", cs.get(0).subset());
        assertEquals("Precise IF", cs.get(3).subset());
        for (int k = 0; k < 3; k++) {
            assertEquals("100 degrees Celsius.", better(cs.get(k)));
        }
        assertEquals("It depends only on the pot.", worse(cs.get(2)));
    }

    @Test
    void ppePlacesTheWinnerByTheCoinAndCountsTies() throws Exception {
        BenchmarkFiles.Loaded l = load("ppe.jsonl", SEED);
        assertEquals("ppe", l.benchmark());
        assertEquals(Map.of("tie", 2), l.dropped());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("4a1f0c9e8b7d4e2fa3c5b6d7e8f90112", "5b2e1daf9c8e4f30b4d6c7e8f9a01223"), ids(l));
        assertEquals("Autumn is a season.", worse(cs.get(0)));
        assertEquals("Canberra.", better(cs.get(1)));
        assertEquals("Sídney.", worse(cs.get(1)));
        assertEquals("Spanish", cs.get(1).meta().get("language").asText());
        assertEquals("human-preference", cs.get(0).subset());
        assertEquals("¿Cuál es la capital de Australia?", lastTurn(cs.get(1)));
    }

    @Test
    void helpSteer3ReadsThePreferenceScoreTheContextAndTheDomain() throws Exception {
        BenchmarkFiles.Loaded l = load("helpsteer3.jsonl", SEED);
        assertEquals("helpsteer3", l.benchmark());
        assertEquals(Map.of("tie", 1), l.dropped());
        List<Comparison> cs = l.comparisons();
        assertEquals(3, cs.size());
        assertEquals(List.of("general", "code", "multilingual"), cs.stream().map(Comparison::subset).toList());
        assertEquals(List.of(-2, 2, 3), cs.stream().map(c -> c.meta().get("overall_preference").intValue()).toList());
        assertEquals(List.of("english", "python", "french"), cs.stream().map(c -> c.meta().get("language").asText()).toList());
        for (Comparison c : cs) {
            assertTrue(c.id().matches("hs3-[0-9a-f]{16}"), c.id());
            assertEquals(c.id(), c.group());
        }
        assertEquals(List.of("user", "assistant", "user"), roles(cs.get(0)));
        assertEquals("Almost none. How should I begin?", lastTurn(cs.get(0)));
        assertTrue(better(cs.get(0)).startsWith("Start with run-walk"));       // -2: response1 better
        assertTrue(better(cs.get(1)).startsWith("Open it with"));              // 2: response2 better
        assertEquals("Ottawa.", better(cs.get(2)));
    }

    @Test
    void projectPairsKeepTheirLabelsAndPlaceChosenRejectedRecords() throws Exception {
        BenchmarkFiles.Loaded l = load("pairs.jsonl", SEED);
        assertEquals("pairs", l.benchmark());
        List<Comparison> cs = l.comparisons();
        assertEquals(List.of("p1", "p2", "p3"), ids(l));
        assertEquals(List.of("math", "all", "math"), cs.stream().map(Comparison::subset).toList());
        assertEquals("A", cs.get(0).label());
        assertEquals("4", cs.get(0).responseA());
        assertEquals("B", cs.get(1).label());
        assertEquals("Seven.", cs.get(1).responseA());
        assertEquals(List.of("system", "user", "assistant", "user"), roles(cs.get(1)));
        assertEquals("7", better(cs.get(2)));
        assertEquals("8", worse(cs.get(2)));
        for (Comparison c : cs) {
            assertEquals(c.id(), c.group());
            assertTrue(c.meta().isEmpty());
        }
    }
}
