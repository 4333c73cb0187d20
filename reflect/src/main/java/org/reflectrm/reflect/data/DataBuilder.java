package org.reflectrm.reflect.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.train.data.Shuffle;

/**
 * {@code data build}: training records from sampled pairs (ReflectRM's data recipe). Easy pairs
 * (all N analyses correct) teach nothing and are dropped. Every other pair is a Pref record;
 * every mixed pair with a parseable wrong analysis gives one Refl record, a correct and a wrong
 * critique of it in a seeded order. The two are mixed at {@link Ratio} by subsampling the larger
 * side, never by repeating records; the result is shuffled. All choices are seeded, and a pair's
 * Refl choice by its id, so the same samples and seed give the same file.
 */
public final class DataBuilder {
    private static final long PREF_SUBSAMPLE = 3;
    private static final long REFL_SUBSAMPLE = 4;
    private static final long SHUFFLE = 5;

    public enum Format { GRPO, SFT }

    /** {@code ratio} null: Pref records only (the rejection-sampling fine-tuning baseline). */
    public record Options(Format format, Ratio ratio, long seed) {
    }

    /** The records in write order, and what happened to the pairs. */
    public record Built(List<ObjectNode> records, DataStats stats) {
    }

    /** A mixed pair's Refl record: samples {@code first} and {@code second} shown as critiques 1 and 2. */
    record Reflection(SampleRecord pair, int first, int second) {
    }

    private DataBuilder() {
    }

    /**
     * Builds from {@code pairs} (all with the same number of samples, rendered with
     * {@code template}); {@code source} names the samples in messages.
     *
     * @throws BadInputException when Refl records are asked for and no pair can give one, when the
     *                           ratio keeps nothing of one side, or when no record is left
     */
    public static Built build(List<SampleRecord> pairs, JudgeTemplate template, Options options, String source,
                              ObjectMapper mapper) {
        int n = pairs.getFirst().samples().size();
        int[] histogram = new int[n + 1];
        List<SampleRecord> kept = new ArrayList<>();
        List<Reflection> reflections = new ArrayList<>();
        int easy = 0, allWrong = 0, mixed = 0;
        for (SampleRecord pair : pairs) {
            int correct = pair.nCorrect();
            histogram[correct]++;
            if (correct == n) {
                easy++;
                continue;
            }
            kept.add(pair);
            if (correct == 0) {
                allWrong++;
                continue;
            }
            mixed++;
            Reflection r = reflection(pair, options.seed());
            if (r != null) {
                reflections.add(r);
            }
        }
        String counts = pairs.size() + " pairs: " + easy + " easy, " + allWrong + " all wrong, " + mixed + " mixed";
        List<ObjectNode> records = new ArrayList<>();
        int pref, refl = 0;
        String mix;
        if (options.format() == Format.SFT) {
            for (SampleRecord pair : kept) {
                for (int i = 0; i < n; i++) {
                    if (pair.samples().get(i).correct()) {
                        records.add(TrainingRecords.sft(mapper, pair, i, template));
                    }
                }
            }
            pref = records.size();
            mix = "pref-only";
        } else if (options.ratio() == null) {
            kept.forEach(p -> records.add(TrainingRecords.pref(mapper, p, template)));
            pref = records.size();
            mix = "pref-only";
        } else {
            if (reflections.isEmpty()) {
                throw new BadInputException(source + ": nothing to reflect on: no pair has both a correct and a "
                        + "parseable wrong analysis (" + counts + "); use --pref-only for Pref records only");
            }
            Ratio.Mix m = options.ratio().mix(kept.size(), reflections.size());
            for (SampleRecord p : subsample(kept, m.pref(), Shuffle.derive(options.seed(), PREF_SUBSAMPLE))) {
                records.add(TrainingRecords.pref(mapper, p, template));
            }
            for (Reflection r : subsample(reflections, m.refl(), Shuffle.derive(options.seed(), REFL_SUBSAMPLE))) {
                records.add(TrainingRecords.refl(mapper, r.pair(), r.first(), r.second(), template));
            }
            pref = m.pref();
            refl = m.refl();
            mix = options.ratio().toString();
        }
        if (records.isEmpty()) {
            throw new BadInputException(source + ": no training record left (" + counts + ")"
                    + (options.format() == Format.SFT ? ": no kept pair has a correct analysis" : ""));
        }
        int[] order = Shuffle.permutation(records.size(), Shuffle.derive(options.seed(), SHUFFLE));
        List<ObjectNode> shuffled = Arrays.stream(order).mapToObj(records::get).toList();
        DataStats stats = new DataStats(options.format().name().toLowerCase(java.util.Locale.ROOT), mix, n,
                pairs.size(), easy, allWrong, mixed, kept.size(), reflections.size(), pref, refl,
                Arrays.stream(histogram).boxed().toList());
        return new Built(shuffled, stats);
    }

    /**
     * A mixed pair's Refl record: a correct and a parseable wrong analysis, each drawn at random,
     * shown in a random order, all from the pair's own seed; null when every wrong analysis is
     * unparseable (it has no verdict to critique).
     */
    static Reflection reflection(SampleRecord pair, long seed) {
        List<Integer> correct = new ArrayList<>();
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < pair.samples().size(); i++) {
            SampleRecord.Sample s = pair.samples().get(i);
            if (s.correct()) {
                correct.add(i);
            } else if (s.parsed()) {
                wrong.add(i);
            }
        }
        if (correct.isEmpty() || wrong.isEmpty()) {
            return null;
        }
        Random rnd = new Random(PairSeeds.of(seed, PairSeeds.REFLECTION, pair.id()));
        int c = correct.get(rnd.nextInt(correct.size()));
        int w = wrong.get(rnd.nextInt(wrong.size()));
        return rnd.nextBoolean() ? new Reflection(pair, c, w) : new Reflection(pair, w, c);
    }

    /** {@code k} of {@code items}, a seeded choice, in their original order; all of them when k covers them. */
    static <T> List<T> subsample(List<T> items, int k, long seed) {
        if (k >= items.size()) {
            return items;
        }
        int[] pick = Arrays.copyOf(Shuffle.permutation(items.size(), seed), k);
        Arrays.sort(pick);
        return Arrays.stream(pick).mapToObj(items::get).toList();
    }
}
