package org.reflectrm.reflect.data;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.judge.Judge;

/**
 * {@code data sample}'s step: N sampled analyses per shown pair, each scored against the label.
 * The analyses are the judge's vote-mode rollouts, so sampling runs on the judge's engine: a
 * batch of pairs is one batched generation, each pair's N rollouts sharing their prompt's
 * prefill. A pair's rollouts sample from streams of a seed of its own, derived from the run's
 * seed and the pair's id: pairs do not share random numbers, and a pair's samples do not depend
 * on which pairs share its batch (resumed and batched runs give the same samples).
 */
public final class PairSampler {
    /** Confidence = mean log-probability of the lowest tenth of an analysis's tokens, as the judge's default. */
    static final double BOTTOM_FRACTION = 0.1;

    private final Judge judge;
    private final Judge.Options options;

    /** Samples {@code n} analyses per pair at {@code temperature}, seeded by {@code seed}, each at most {@code maxNewTokens} long. */
    public PairSampler(Judge judge, int n, double temperature, long seed, int maxNewTokens) {
        this.judge = judge;
        this.options = new Judge.Options(Judge.Mode.VOTE, n, temperature, BOTTOM_FRACTION, seed, maxNewTokens);
    }

    /** The records of {@code pairs}, in order, from one batched generation. */
    public List<SampleRecord> sample(List<ShownPair> pairs) {
        List<Judge.Item> items = pairs.stream().map(ShownPair::item).toList();
        long[] seeds = pairs.stream().mapToLong(p -> PairSeeds.of(options.seed(), PairSeeds.SAMPLING, p.id())).toArray();
        List<Judge.Result> results = judge.judgeAll(items, options, seeds);
        List<SampleRecord> records = new ArrayList<>();
        for (int k = 0; k < pairs.size(); k++) {
            records.add(record(pairs.get(k), results.get(k)));
        }
        return records;
    }

    /** A pair's record from its judgment: every rollout, its verdict as a slot letter and whether that is the label. */
    static SampleRecord record(ShownPair pair, Judge.Result result) {
        List<SampleRecord.Sample> samples = new ArrayList<>();
        for (Judge.Rollout r : result.rollouts()) {
            String verdict = SampleRecord.letter(r.verdict().choice());
            samples.add(new SampleRecord.Sample(r.text(), r.verdict().analysis(), verdict, pair.label().equals(verdict),
                    Double.isFinite(r.confidence()) ? r.confidence() : null, r.tokens()));
        }
        return new SampleRecord(pair.id(), pair.order(), pair.label(), result.templateVersion(), pair.conversation(),
                pair.response1(), pair.response2(), pair.subset(), samples);
    }
}
