package org.reflectrm.reflect.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.train.data.Shuffle;

/**
 * Which comparisons of a benchmark an eval run judges: a subset, the first {@code limit} items,
 * or a stratified random sample. It selects whole groups (an RM-Bench prompt's nine cells, an RMB
 * BoN item's losers), so the official scores stay computable on what is selected.
 */
public final class Selection {
    private Selection() {
    }

    /**
     * @param subset a subset name, or null for all
     * @param limit  the first {@code limit} groups in file order (0: no limit)
     * @param sample a seeded sample of {@code sample} groups, stratified by subset in proportion to
     *               their sizes (largest remainders; 0: no sample)
     */
    public static List<Comparison> select(List<Comparison> all, String subset, int limit, int sample, long seed) {
        if (limit < 0 || sample < 0) {
            throw new BadInputException("--limit and --sample must not be negative");
        }
        if (limit > 0 && sample > 0) {
            throw new BadInputException("--limit and --sample are mutually exclusive: give one");
        }
        Map<String, List<Comparison>> groups = new LinkedHashMap<>();
        for (Comparison c : all) {
            if (subset == null || c.subset().equals(subset)) {
                groups.computeIfAbsent(c.group(), g -> new ArrayList<>()).add(c);
            }
        }
        if (groups.isEmpty()) {
            throw new BadInputException(subset == null ? "the benchmark file holds no comparison"
                    : "--subset " + subset + ": no such subset; the file has " + subsets(all));
        }
        List<List<Comparison>> chosen = new ArrayList<>(groups.values());
        if (limit > 0) {
            chosen = chosen.subList(0, Math.min(limit, chosen.size()));
        } else if (sample > 0 && sample < chosen.size()) {
            chosen = stratified(chosen, sample, seed);
        }
        List<Comparison> out = new ArrayList<>();
        chosen.forEach(out::addAll);
        return out;
    }

    /** The subsets of {@code all}, in order of first appearance. */
    public static List<String> subsets(List<Comparison> all) {
        return all.stream().map(Comparison::subset).distinct().toList();
    }

    private static List<List<Comparison>> stratified(List<List<Comparison>> groups, int sample, long seed) {
        Map<String, List<Integer>> bySubset = new LinkedHashMap<>();
        for (int g = 0; g < groups.size(); g++) {
            bySubset.computeIfAbsent(groups.get(g).getFirst().subset(), s -> new ArrayList<>()).add(g);
        }
        // Each subset's quota is its share of the sample; the remainders go to the largest fractions.
        List<String> names = new ArrayList<>(bySubset.keySet());
        int[] quota = new int[names.size()];
        double[] rest = new double[names.size()];
        int given = 0;
        for (int s = 0; s < names.size(); s++) {
            double exact = (double) sample * bySubset.get(names.get(s)).size() / groups.size();
            quota[s] = (int) Math.floor(exact);
            rest[s] = exact - quota[s];
            given += quota[s];
        }
        while (given < sample) {
            int best = 0;
            for (int s = 1; s < names.size(); s++) {
                if (rest[s] > rest[best]) {
                    best = s;
                }
            }
            quota[best]++;
            rest[best] = -1;
            given++;
        }
        boolean[] keep = new boolean[groups.size()];
        for (int s = 0; s < names.size(); s++) {
            List<Integer> members = bySubset.get(names.get(s));
            int[] order = Shuffle.permutation(members.size(), Shuffle.derive(seed, s));
            for (int k = 0; k < quota[s]; k++) {
                keep[members.get(order[k])] = true;
            }
        }
        List<List<Comparison>> out = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            if (keep[g]) {
                out.add(groups.get(g));
            }
        }
        return out;
    }
}
