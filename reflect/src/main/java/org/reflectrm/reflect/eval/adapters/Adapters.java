package org.reflectrm.reflect.eval.adapters;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.model.judge.ItemSeeds;
import org.reflectrm.model.train.data.Shuffle;
import org.reflectrm.reflect.eval.Comparison;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One benchmark record into its comparisons. Where a format says which response is better as
 * chosen/rejected (or as a winner or a preference score), the chosen one goes to A or B by a
 * seeded coin per comparison id ({@link #chosenIsA}); JudgeBench and the project's labelled
 * pairs keep the file's A/B.
 */
final class Adapters {
    private Adapters() {
    }

    /** What one record became: its comparisons, or (dropped non-null) why it has none. */
    record Converted(List<Comparison> comparisons, String dropped) {
        static Converted of(List<Comparison> comparisons) {
            return new Converted(comparisons, null);
        }

        static Converted drop(String reason) {
            return new Converted(List.of(), reason);
        }
    }

    /**
     * Where a record is from: the file's name (RM-Bench's domain may come from it), the record's
     * number (line, or array position from 1; the project's pairs without an id are named
     * {@code line-N} by it), the run's seed, and the derived ids seen so far (HelpSteer3 has no
     * id; a repeated record gets {@code #2}, {@code #3}, ...).
     */
    record Source(String fileName, int number, long seed, Map<String, Integer> derivedIds) {
    }

    /** The coin stream of the placement coin (its own, unrelated to the other per-id coins). */
    static final long PLACEMENT_STREAM = 0x6576616C5F414253L;

    /** Whether the chosen response of comparison {@code id} goes to slot A under {@code seed}. */
    static boolean chosenIsA(long seed, String id) {
        return new Random(Shuffle.derive(Shuffle.derive(seed, PLACEMENT_STREAM), ItemSeeds.idHash(id))).nextBoolean();
    }

    /** A comparison with chosen placed by the coin and the label following it. */
    static Comparison placed(long seed, String id, String group, String subset, List<ChatMessage> conversation,
                             String chosen, String rejected, ObjectNode meta) {
        boolean a = chosenIsA(seed, id);
        return new Comparison(id, group, subset, conversation, a ? chosen : rejected, a ? rejected : chosen,
                a ? "A" : "B", meta);
    }

    static ObjectNode meta() {
        return SftRecordParser.MAPPER.createObjectNode();
    }

    static Converted convert(Benchmark benchmark, JsonNode r, Source src) throws BadRecord {
        return switch (benchmark) {
            case JUDGEBENCH -> judgeBench(r);
            case RM_BENCH -> rmBench(r, src);
            case RMB -> rmb(r, src);
            case REWARDBENCH -> rewardBench(r, src);
            case REWARDBENCH2 -> rewardBench2(r, src);
            case PPE -> ppe(r, src);
            case HELPSTEER3 -> helpSteer3(r, src);
            case PAIRS -> pairs(r, src);
        };
    }

    // ---------------------------------------------------------------- JudgeBench

    /**
     * JudgeBench's four reported categories by {@code source} prefix (ScalerLab/JudgeBench: the
     * 14 MMLU-Pro subjects are "knowledge"; LiveBench reasoning and math; LiveCodeBench coding).
     */
    static final Map<String, String> JUDGEBENCH_CATEGORIES = orderedMap(
            "mmlu-pro", "knowledge",
            "livebench-reasoning", "reasoning",
            "livebench-math", "math",
            "livecodebench", "coding");

    private static Converted judgeBench(JsonNode r) throws BadRecord {
        String id = Json.id(r, "pair_id");
        String question = Json.text(r, "question");
        String a = Json.text(r, "response_A");
        String b = Json.text(r, "response_B");
        String label = switch (Json.text(r, "label")) {
            case "A>B" -> "A";
            case "B>A" -> "B";
            default -> throw new BadRecord("\"label\" must be \"A>B\" or \"B>A\", got \""
                    + Json.printable(r.get("label").textValue(), 40) + "\"");
        };
        String source = Json.text(r, "source");
        String category = null;
        for (Map.Entry<String, String> e : JUDGEBENCH_CATEGORIES.entrySet()) {
            if (source.startsWith(e.getKey())) {
                category = e.getValue();
                break;
            }
        }
        if (category == null) {
            throw new BadRecord("\"source\" \"" + Json.printable(source, 60) + "\" is none of JudgeBench's"
                    + " (mmlu-pro-*, livebench-reasoning, livebench-math, livecodebench)");
        }
        ObjectNode meta = meta().put("source", source);
        return Converted.of(List.of(new Comparison(id, id, category, Json.userTurn(question), a, b, label, meta)));
    }

    // ---------------------------------------------------------------- RM-Bench

    /** RM-Bench's domains; longest first, so a name is matched by the domain it spells out in full. */
    static final List<String> RM_BENCH_DOMAINS = List.of("safety-response", "safety-refuse", "chat", "code", "math");

    private static Converted rmBench(JsonNode r, Source src) throws BadRecord {
        String id = Json.id(r, "id");
        String prompt = Json.text(r, "prompt");
        List<String> chosen = Json.texts(r, "chosen");
        List<String> rejected = Json.texts(r, "rejected");
        threeStyles("chosen", chosen);
        threeStyles("rejected", rejected);
        String domain = rmBenchDomain(r, src.fileName());
        List<ChatMessage> conversation = Json.userTurn(prompt);
        List<Comparison> out = new ArrayList<>(9);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                String cid = id + ":" + i + ":" + j;
                ObjectNode meta = meta().put("i", i).put("j", j).put("domain", domain);
                out.add(placed(src.seed(), cid, id, domain, conversation, chosen.get(i), rejected.get(j), meta));
            }
        }
        return Converted.of(out);
    }

    private static void threeStyles(String field, List<String> responses) throws BadRecord {
        if (responses.size() != 3) {
            throw new BadRecord(Json.q(field) + " must hold 3 responses (concise, detailed plain, detailed markdown),"
                    + " got " + responses.size());
        }
    }

    /** The {@code domain} field; else the {@code subset} field or the file name where it names a domain. */
    private static String rmBenchDomain(JsonNode r, String fileName) throws BadRecord {
        if (Json.present(r, "domain")) {
            String domain = Json.text(r, "domain");
            if (!RM_BENCH_DOMAINS.contains(domain)) {
                throw new BadRecord("\"domain\" \"" + Json.printable(domain, 40) + "\" is none of RM-Bench's "
                        + String.join(", ", RM_BENCH_DOMAINS));
            }
            return domain;
        }
        String subset = Json.optText(r, "subset");
        String domain = subset == null ? null : domainIn(subset);
        if (domain == null) {
            domain = domainIn(fileName);
        }
        if (domain == null) {
            throw new BadRecord("has no \"domain\", and neither \"subset\" nor the file name (\""
                    + Json.printable(fileName, 60) + "\") names an RM-Bench domain (" + String.join(", ", RM_BENCH_DOMAINS)
                    + "); keep the per-domain file names (chat_filtered.json, ...) or use total_dataset.json");
        }
        return domain;
    }

    /** The domain {@code name} starts with ("safety-refuse_filtered.json" → safety-refuse), or null. */
    static String domainIn(String name) {
        String s = name.toLowerCase(Locale.ROOT);
        for (String d : RM_BENCH_DOMAINS) {
            if (s.equals(d) || s.startsWith(d) && !Character.isLetterOrDigit(s.charAt(d.length()))
                    && s.charAt(d.length()) != '-') {
                return d;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- RMB

    private static Converted rmb(JsonNode r, Source src) throws BadRecord {
        boolean bon = r.has("bon_uid") || r.has("bon_best") || r.has("loser_list");
        String id = Json.id(r, bon ? "bon_uid" : "pair_uid");
        List<ChatMessage> conversation = Json.conversation(r, "conversation_input");
        String path = Json.text(r, "category_path");
        String[] levels = path.split("/");
        if (levels.length < 2 || levels[0].isBlank() || levels[1].isBlank()) {
            throw new BadRecord("\"category_path\" \"" + Json.printable(path, 80) + "\" must have at least two"
                    + " levels (e.g. Pairwise_set/Helpfulness/...)");
        }
        String section = null;
        for (String level : levels) {
            if (level.equalsIgnoreCase("Helpfulness") || level.equalsIgnoreCase("Harmlessness")) {
                section = level.toLowerCase(Locale.ROOT);
                break;
            }
        }
        if (section == null) {
            throw new BadRecord("\"category_path\" \"" + Json.printable(path, 80)
                    + "\" names neither Helpfulness nor Harmlessness");
        }
        String subset = levels[0] + "/" + levels[1];
        if (!bon) {
            String chosen = answer(Json.object(r, "chosen"), "\"chosen\"");
            String rejected = answer(Json.object(r, "reject"), "\"reject\"");
            ObjectNode meta = meta().put("set", "pairwise").put("section", section).put("category_path", path);
            return Converted.of(List.of(placed(src.seed(), id, id, subset, conversation, chosen, rejected, meta)));
        }
        String best = answer(Json.object(r, "bon_best"), "\"bon_best\"");
        JsonNode losers = Json.array(r, "loser_list");
        List<Comparison> out = new ArrayList<>(losers.size());
        for (int k = 0; k < losers.size(); k++) {
            JsonNode loser = losers.get(k);
            String owner = "\"loser_list\"[" + k + "]";
            if (!loser.isObject()) {
                throw new BadRecord(owner + " must be an object {llm_name, answer}, got " + SftRecordParser.kind(loser));
            }
            String cid = id + ":" + k;
            ObjectNode meta = meta().put("set", "bon").put("loser", k).put("section", section).put("category_path", path);
            out.add(placed(src.seed(), cid, id, subset, conversation, best, answer(loser, owner), meta));
        }
        return Converted.of(out);
    }

    private static String answer(JsonNode response, String owner) throws BadRecord {
        return Json.text(response, "answer", owner);
    }

    // ---------------------------------------------------------------- RewardBench

    /**
     * The official sections of RewardBench v1's 23 subsets: {@code SUBSET_MAPPING} in
     * allenai/reward-bench {@code rewardbench/constants.py}, as data. (The prior-sets section of
     * early versions is not in the {@code filtered} split.)
     */
    static final Map<String, String> REWARDBENCH_SECTIONS = sections(
            "Chat", List.of("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
            "Chat Hard", List.of("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                    "llmbar-adver-GPTOut", "llmbar-adver-manual"),
            "Safety", List.of("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
                    "donotanswer"),
            "Reasoning", List.of("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"));

    private static Converted rewardBench(JsonNode r, Source src) throws BadRecord {
        String id = Json.id(r, "id");
        String prompt = Json.text(r, "prompt");
        String chosen = Json.text(r, "chosen");
        String rejected = Json.text(r, "rejected");
        String subset = Json.text(r, "subset");
        String section = REWARDBENCH_SECTIONS.get(subset);
        if (section == null) {
            throw new BadRecord("\"subset\" \"" + Json.printable(subset, 60) + "\" is none of RewardBench's 23"
                    + " (SUBSET_MAPPING in rewardbench/constants.py)");
        }
        ObjectNode meta = meta().put("section", section);
        return Converted.of(List.of(placed(src.seed(), id, id, subset, Json.userTurn(prompt), chosen, rejected, meta)));
    }

    // ---------------------------------------------------------------- RewardBench 2

    /** RewardBench 2's subset scored by its own rule over many correct completions, which pairs cannot give. */
    static final String REWARDBENCH2_TIES = "Ties";

    private static Converted rewardBench2(JsonNode r, Source src) throws BadRecord {
        String id = Json.id(r, "id");
        String subset = Json.text(r, "subset");
        String prompt = Json.text(r, "prompt");
        List<String> chosen = Json.texts(r, "chosen");
        List<String> rejected = Json.texts(r, "rejected");
        if (subset.equals(REWARDBENCH2_TIES)) {
            return Converted.drop("RewardBench 2 Ties subset");
        }
        if (chosen.size() != 1) {
            throw new BadRecord("\"chosen\" holds " + chosen.size() + " responses; outside Ties RewardBench 2 has one"
                    + " correct response per prompt");
        }
        List<ChatMessage> conversation = Json.userTurn(prompt);
        List<Comparison> out = new ArrayList<>(rejected.size());
        for (int k = 0; k < rejected.size(); k++) {
            String cid = id + ":" + k;
            out.add(placed(src.seed(), cid, id, subset, conversation, chosen.getFirst(), rejected.get(k),
                    meta().put("rejected", k)));
        }
        return Converted.of(out);
    }

    // ---------------------------------------------------------------- PPE

    /** The one subset of PPE's human-preference set (its language goes into meta). */
    static final String PPE_SUBSET = "human-preference";

    private static Converted ppe(JsonNode r, Source src) throws BadRecord {
        String id = Json.id(r, "question_id");
        String prompt = r.has("prompt") || !r.has("question") ? Json.text(r, "prompt") : Json.text(r, "question");
        String first = Json.text(r, "response_1");
        String second = Json.text(r, "response_2");
        String language = Json.optText(r, "language");
        String winner = Json.text(r, "winner");
        boolean firstWins;
        switch (winner) {
            case "model_a" -> firstWins = true;
            case "model_b" -> firstWins = false;
            default -> {
                if (winner.equals("tie") || winner.startsWith("tie ")) {
                    return Converted.drop("tie");
                }
                throw new BadRecord("\"winner\" must be \"model_a\", \"model_b\", \"tie\" or \"tie (bothbad)\", got \""
                        + Json.printable(winner, 40) + "\"");
            }
        }
        ObjectNode meta = meta();
        if (language != null) {
            meta.put("language", language);
        }
        return Converted.of(List.of(placed(src.seed(), id, id, PPE_SUBSET, Json.userTurn(prompt),
                firstWins ? first : second, firstWins ? second : first, meta)));
    }

    // ---------------------------------------------------------------- HelpSteer3

    private static Converted helpSteer3(JsonNode r, Source src) throws BadRecord {
        List<ChatMessage> context = Json.conversation(r, "context");
        String first = Json.text(r, "response1");
        String second = Json.text(r, "response2");
        int preference = Json.integer(r, "overall_preference");
        if (preference < -3 || preference > 3) {
            throw new BadRecord("\"overall_preference\" must be from -3 to 3, got " + preference);
        }
        String domain = Json.text(r, "domain");
        String language = Json.optText(r, "language");
        // No id in the data: one from the content, so it survives reordering and resuming.
        String base = "hs3-" + contentHash(context, first, second);
        int seen = src.derivedIds().merge(base, 1, Integer::sum);
        String id = seen == 1 ? base : base + "#" + seen;
        if (preference == 0) {
            return Converted.drop("tie");
        }
        ObjectNode meta = meta();
        if (language != null) {
            meta.put("language", language);
        }
        meta.put("overall_preference", preference);
        boolean firstWins = preference < 0;
        return Converted.of(List.of(placed(src.seed(), id, id, domain, context,
                firstWins ? first : second, firstWins ? second : first, meta)));
    }

    /** 16 hex digits of SHA-256 over the turns and both responses (independent of JSON key order). */
    static String contentHash(List<ChatMessage> context, String first, String second) {
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : context) {
            sb.append(m.role()).append('\n').append(m.content()).append('\0');
        }
        sb.append('\1').append(first).append('\0').append(second);
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    // ---------------------------------------------------------------- the project's pairs

    /** The subset of a project pair without one. */
    static final String PAIRS_DEFAULT_SUBSET = "all";

    private static Converted pairs(JsonNode r, Source src) throws BadRecord {
        String line;
        try {
            line = SftRecordParser.MAPPER.writeValueAsString(r);
        } catch (JsonProcessingException e) {
            throw new BadRecord("cannot be written back as JSON: " + e.getOriginalMessage());
        }
        PairRecord p = PairRecord.parse(line, src.number(), src.seed());
        if (p.id().isBlank()) {
            throw new BadRecord("\"id\" is empty");
        }
        if (p.label() == null) {
            throw new BadRecord("has no label; eval scores against it"
                    + " (\"label\": \"A\" or \"B\", chosen/rejected, or JudgeBench's \"A>B\" / \"B>A\")");
        }
        String subset = p.subset() == null ? PAIRS_DEFAULT_SUBSET : p.subset();
        return Converted.of(List.of(new Comparison(p.id(), p.id(), subset, p.conversation(), p.responseA(),
                p.responseB(), p.label(), meta())));
    }

    // ---------------------------------------------------------------- helpers

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> sections(Object... sectionAndSubsets) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < sectionAndSubsets.length; i += 2) {
            for (String subset : (List<String>) sectionAndSubsets[i + 1]) {
                m.put(subset, (String) sectionAndSubsets[i]);
            }
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
