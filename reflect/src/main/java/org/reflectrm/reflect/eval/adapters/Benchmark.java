package org.reflectrm.reflect.eval.adapters;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.reflectrm.model.BadInputException;

/**
 * The benchmark file formats {@code eval} reads, by the id {@code --benchmark} takes. Each reads
 * the benchmark's own export (field names as the benchmark publishes them; see
 * {@code docs/benchmarks.md} for where each file comes from and how it maps onto
 * {@link org.reflectrm.reflect.eval.Comparison}).
 */
public enum Benchmark {
    /** ScalerLab/JudgeBench JSONL: A/B and label as in the file; subset = category from {@code source}. */
    JUDGEBENCH("judgebench", "JudgeBench", "question, response_A, response_B, label \"A>B\"|\"B>A\", source"),
    /** THU-KEG/RM-Bench JSON array: one comparison per (chosen i, rejected j) of the 3 × 3. */
    RM_BENCH("rm-bench", "RM-Bench", "id, prompt, chosen [3], rejected [3], domain"),
    /** RMB: Pairwise (chosen vs reject) and BoN (bon_best vs each loser) records. */
    RMB("rmb", "RMB", "pair_uid, conversation_input, chosen, reject, category_path; or bon_uid,"
            + " conversation_input, bon_best, loser_list, category_path"),
    /** allenai/reward-bench (v1) {@code filtered} split, exported to JSONL. */
    REWARDBENCH("rewardbench", "RewardBench", "id, prompt, chosen, rejected, chosen_model, rejected_model, subset"),
    /** allenai/reward-bench-2, exported to JSONL: best-of-4 as (chosen, rejected k) pairs; Ties dropped. */
    REWARDBENCH2("rewardbench2", "RewardBench 2", "id, prompt, chosen [..], rejected [..], num_correct, subset"),
    /** lmarena-ai/PPE-Human-Preference-V1, exported to JSONL; ties dropped. */
    PPE("ppe", "PPE human preference", "question_id, prompt, response_1, response_2, winner"),
    /** nvidia/HelpSteer3 preference config; ties (overall_preference 0) dropped. */
    HELPSTEER3("helpsteer3", "HelpSteer3-Preference", "context, response1, response2, overall_preference, domain"),
    /** The project's own pair format, as {@code judge --input} reads it, every pair labelled. */
    PAIRS("pairs", "pairs", "id, prompt|messages, response_a, response_b, label; or prompt|messages, chosen, rejected");

    private final String id;
    private final String title;
    private final String fields;

    Benchmark(String id, String title, String fields) {
        this.id = id;
        this.title = title;
        this.fields = fields;
    }

    /** The id {@code --benchmark} takes, e.g. {@code rm-bench}. */
    public String id() {
        return id;
    }

    /** The benchmark's name for messages and reports, e.g. {@code RM-Bench}. */
    public String title() {
        return title;
    }

    /** The fields a record of this format has, for error messages. */
    public String fields() {
        return fields;
    }

    /** The benchmark with id {@code id}; a {@link BadInputException} naming the valid ids otherwise. */
    public static Benchmark byId(String id) {
        for (Benchmark b : values()) {
            if (b.id.equals(id)) {
                return b;
            }
        }
        throw new BadInputException("unknown benchmark \"" + Json.printable(id, 40) + "\"; one of: " + ids());
    }

    /** All ids, comma-separated. */
    public static String ids() {
        return Arrays.stream(values()).map(Benchmark::id).collect(Collectors.joining(", "));
    }

    /** "JudgeBench (question, ...), RM-Bench (...), ...": what detection looks for. */
    static String expected() {
        return Arrays.stream(values()).map(b -> b.title + " (" + b.fields + ")").collect(Collectors.joining(", "));
    }

    /**
     * The benchmark a record's fields identify, or null. The checks go from the most specific
     * field names to the most generic: RewardBench 2 and RM-Bench both have {@code chosen} and
     * {@code rejected} lists (RewardBench 2 also counts them in {@code num_correct} …); RewardBench
     * and the project's chosen/rejected pairs both have string {@code chosen} and {@code rejected}
     * (RewardBench also names their models).
     */
    static Benchmark detect(JsonNode r) {
        if (r.has("response_A") && r.has("response_B")) {
            return JUDGEBENCH;
        }
        if (r.has("bon_best") || r.has("loser_list") || r.has("reject") || r.has("conversation_input")) {
            return RMB;
        }
        if (r.has("response_1") && r.has("response_2") && r.has("winner")) {
            return PPE;
        }
        if (r.has("response1") && r.has("response2") && r.has("overall_preference")) {
            return HELPSTEER3;
        }
        JsonNode chosen = r.get("chosen");
        if (chosen != null && chosen.isArray() && r.has("rejected")) {
            return r.has("num_correct") || r.has("num_incorrect") || r.has("total_completions") ? REWARDBENCH2 : RM_BENCH;
        }
        if (r.has("chosen") && r.has("rejected") && (r.has("chosen_model") || r.has("rejected_model"))) {
            return REWARDBENCH;
        }
        boolean conversation = r.has("prompt") || r.has("messages");
        if (conversation && (r.has("response_a") && r.has("response_b") || r.has("chosen") && r.has("rejected"))) {
            return PAIRS;
        }
        return null;
    }
}
