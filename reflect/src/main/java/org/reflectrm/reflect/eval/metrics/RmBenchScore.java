package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RM-Bench's official hard / normal / easy accuracies ({@code THU-KEG/RM-Bench},
 * {@code scripts/utils.py}, {@code compute_accuracy} and {@code split_dataset_by_domain}).
 *
 * <p>Each prompt (the {@code group}) has 3 chosen × 3 rejected responses in the styles concise,
 * detailed plain, detailed markdown (meta {@code i} = chosen style, {@code j} = rejected style).
 * Per domain, M[i][j] is the mean over its prompts of the (i, j) cell's correctness; hard is the
 * mean of the upper triangle (i &lt; j: the chosen response plainer than the rejected one), normal
 * the diagonal, easy the lower triangle; the domain's score is mean(hard, normal, easy). Domains
 * are chat, math, code and safety, a prompt belonging to the first whose name its {@code domain}
 * starts with (so safety-refuse and safety-response pool into safety, as the official code does;
 * other domains are left out and counted). {@code average} is the mean of the domains' scores, and
 * hard / normal / easy are also averaged over the domains.
 *
 * <p>Differences from the official code, which compares scalar rewards: a cell's correctness is
 * whether the verdict names the chosen response (unparseable: wrong; the official {@code >}
 * counts a tie as wrong too); with both orders judged it is the mean of the two orders (0, ½ or 1),
 * the analogue of RM-R1's generative RM-Bench scoring, which sums per-prompt 0/½/1 cell matrices
 * the same way. A cell is averaged over the prompts that have it (the official code divides by the
 * domain's prompt count; equal when every prompt has its 9 cells), a triangle over its cells that
 * have data, and {@code average} over the domains present ({@code complete} says whether all four
 * are). The intervals resample prompts within each domain.
 */
final class RmBenchScore {
    static final List<String> DOMAINS = List.of("chat", "math", "code", "safety");

    private RmBenchScore() {
    }

    /** One prompt's 3×3 cells: the mean correctness of the cell's orders, NaN where not judged. */
    record Prompt(String group, double[][] cells) {
    }

    /** Per-domain scores: hard, normal, easy, score; the matrix. */
    record DomainScore(double hard, double normal, double easy, double score, double[][] matrix) {
    }

    static String domainOf(String domain) {
        if (domain == null) {
            return null;
        }
        for (String d : DOMAINS) {
            if (domain.startsWith(d)) {
                return d;
            }
        }
        return null;
    }

    static DomainScore domainScore(List<Prompt> prompts) {
        double[][] sum = new double[3][3];
        int[][] count = new int[3][3];
        for (Prompt p : prompts) {
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    if (!Double.isNaN(p.cells()[i][j])) {
                        sum[i][j] += p.cells()[i][j];
                        count[i][j]++;
                    }
                }
            }
        }
        double[][] m = new double[3][3];
        double[] hard = new double[2], normal = new double[2], easy = new double[2];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                m[i][j] = count[i][j] == 0 ? Double.NaN : sum[i][j] / count[i][j];
                if (count[i][j] > 0) {
                    double[] acc = i < j ? hard : i == j ? normal : easy;
                    acc[0] += m[i][j];
                    acc[1]++;
                }
            }
        }
        double h = mean(hard), n = mean(normal), e = mean(easy);
        return new DomainScore(h, n, e, meanOf(h, n, e), m);
    }

    /** [hard, normal, easy, average] averaged over the domains given (each a list of prompts). */
    static double[] overall(List<List<Prompt>> domains) {
        double[] sums = new double[4];
        int[] counts = new int[4];
        for (List<Prompt> d : domains) {
            if (d.isEmpty()) {
                continue;
            }
            DomainScore s = domainScore(d);
            double[] v = {s.hard(), s.normal(), s.easy(), s.score()};
            for (int k = 0; k < 4; k++) {
                if (!Double.isNaN(v[k])) {
                    sums[k] += v[k];
                    counts[k]++;
                }
            }
        }
        double[] out = new double[4];
        for (int k = 0; k < 4; k++) {
            out[k] = counts[k] == 0 ? Double.NaN : sums[k] / counts[k];
        }
        return out;
    }

    /** Writes the {@code rmbench} block. */
    static void write(ObjectNode out, List<JudgedComparison> comparisons, long seed, int samples) {
        Map<String, Map<String, double[][]>> byDomain = new LinkedHashMap<>();
        for (String d : DOMAINS) {
            byDomain.put(d, new LinkedHashMap<>());
        }
        int unassigned = 0;
        for (JudgedComparison c : comparisons) {
            Judgment j0 = c.first();
            String domain = domainOf(j0.metaText("domain"));
            if (domain == null) {
                unassigned++;
                continue;
            }
            int i = styleIndex(j0, "i"), j = styleIndex(j0, "j");
            double[][] cells = byDomain.get(domain).computeIfAbsent(c.group(), g -> nanCells());
            if (!Double.isNaN(cells[i][j])) {
                throw new IllegalArgumentException("RM-Bench prompt " + c.group() + " has two comparisons for cell ("
                        + i + ", " + j + ")");
            }
            cells[i][j] = c.meanCorrect();
        }
        List<List<Prompt>> domains = new ArrayList<>();
        List<String> present = new ArrayList<>();
        for (Map.Entry<String, Map<String, double[][]>> e : byDomain.entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            List<Prompt> ps = new ArrayList<>();
            e.getValue().forEach((g, cells) -> ps.add(new Prompt(g, cells)));
            domains.add(ps);
            present.add(e.getKey());
        }

        ObjectNode rb = out.putObject("rmbench");
        double[] point = overall(domains);
        String[] names = {"hard", "normal", "easy", "average"};
        for (int k = 0; k < 4; k++) {
            Json.putRate(rb, names[k], point[k]);
        }
        double[][] ci = domains.isEmpty() ? null
                : Bootstrap.intervals(domains, samples, Bootstrap.rng(seed, "rmbench"), 4, RmBenchScore::overall);
        ObjectNode cis = rb.putObject("ci95");
        for (int k = 0; k < 4; k++) {
            Json.putInterval(cis, names[k], ci == null ? null : ci[k]);
        }
        rb.put("complete", present.size() == DOMAINS.size());
        int prompts = 0;
        for (List<Prompt> d : domains) {
            prompts += d.size();
        }
        rb.put("n_prompts", prompts);
        rb.put("n_unassigned_comparisons", unassigned);
        ObjectNode ds = rb.putObject("domains");
        for (int k = 0; k < domains.size(); k++) {
            List<Prompt> d = domains.get(k);
            DomainScore s = domainScore(d);
            ObjectNode o = ds.putObject(present.get(k));
            o.put("n_prompts", d.size());
            Json.putRate(o, "hard", s.hard());
            Json.putRate(o, "normal", s.normal());
            Json.putRate(o, "easy", s.easy());
            Json.putRate(o, "score", s.score());
            ArrayNode m = o.putArray("matrix");
            for (int i = 0; i < 3; i++) {
                ArrayNode row = m.addArray();
                for (int j = 0; j < 3; j++) {
                    if (Double.isNaN(s.matrix()[i][j])) {
                        row.addNull();
                    } else {
                        row.add(s.matrix()[i][j]);
                    }
                }
            }
            double[][] dci = Bootstrap.intervals(List.of(d), samples, Bootstrap.rng(seed, "rmbench/" + present.get(k)),
                    1, x -> new double[] {domainScore(x.get(0)).score()});
            Json.putInterval(o, "score_ci95", dci == null ? null : dci[0]);
        }
    }

    private static int styleIndex(Judgment j, String key) {
        JsonNode v = j.meta(key);
        if (v == null || !v.canConvertToInt() && !v.isTextual()) {
            throw new IllegalArgumentException("RM-Bench judgment " + j.id() + " has no style index " + key);
        }
        int x;
        try {
            x = v.isTextual() ? Integer.parseInt(v.asText()) : v.asInt();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("RM-Bench judgment " + j.id() + ": " + key + " is not a number: " + v);
        }
        if (x < 0 || x > 2) {
            throw new IllegalArgumentException("RM-Bench judgment " + j.id() + ": " + key + " must be 0, 1 or 2, got " + x);
        }
        return x;
    }

    private static double[][] nanCells() {
        double[][] c = new double[3][3];
        for (double[] row : c) {
            java.util.Arrays.fill(row, Double.NaN);
        }
        return c;
    }

    private static double mean(double[] sumCount) {
        return sumCount[1] == 0 ? Double.NaN : sumCount[0] / sumCount[1];
    }

    private static double meanOf(double... xs) {
        double s = 0;
        int n = 0;
        for (double x : xs) {
            if (!Double.isNaN(x)) {
                s += x;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }
}
