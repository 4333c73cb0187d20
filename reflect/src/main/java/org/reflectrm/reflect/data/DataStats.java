package org.reflectrm.reflect.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * What {@code data build} made of the samples. Pairs fall into three kinds by how many of
 * their N analyses were correct: easy (N, dropped), all wrong (0, Pref only) and mixed (the
 * rest). A mixed pair is a Refl candidate when one of its incorrect analyses has a verdict (an
 * unparseable one is no critique). {@code pref} and {@code refl} are the records written; with
 * {@code --format sft} {@code pref} counts SFT records, one per correct sample.
 *
 * @param histogram pairs by number of correct analyses, index 0..N
 */
public record DataStats(String format, String mix, int samplesPerPair, int pairs, int easyDropped, int allWrong,
                        int mixed, int prefCandidates, int reflCandidates, int pref, int refl, List<Integer> histogram) {

    public DataStats {
        histogram = List.copyOf(histogram);
    }

    public ObjectNode toJson(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.put("pairs", pairs);
        o.put("easy_dropped", easyDropped);
        o.put("all_wrong", allWrong);
        o.put("mixed", mixed);
        o.put("pref", pref);
        o.put("refl", refl);
        histogram.forEach(o.putArray("n_correct_histogram")::add);
        o.put("samples_per_pair", samplesPerPair);
        o.put("pref_candidates", prefCandidates);
        o.put("refl_candidates", reflCandidates);
        o.put("format", format);
        o.put("mix", mix);
        return o;
    }

    /** The same as a table for a terminal. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        row(sb, "pairs", pairs, "");
        row(sb, "easy (dropped)", easyDropped, "all " + samplesPerPair + " correct");
        row(sb, "all wrong", allWrong, "none correct: Pref only");
        row(sb, "mixed", mixed, reflCandidates + " with a parseable wrong analysis (Refl candidates)");
        row(sb, format.equals("sft") ? "SFT records" : "Pref records", pref,
                format.equals("sft") ? "correct samples of the " + prefCandidates + " kept pairs"
                        : "of " + prefCandidates + " candidates");
        row(sb, "Refl records", refl, format.equals("sft") ? "" : "of " + reflCandidates + " candidates");
        sb.append(String.format(Locale.ROOT, "%-16s %s%n", "n_correct", "pairs"));
        for (int k = 0; k < histogram.size(); k++) {
            sb.append(String.format(Locale.ROOT, "%16d %6d%n", k, histogram.get(k)));
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String name, int value, String note) {
        sb.append(String.format(Locale.ROOT, "%-16s %6d%s%n", name, value, note.isEmpty() ? "" : "   " + note));
    }
}
