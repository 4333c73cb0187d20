package org.reflectrm.reflect.eval.metrics;

import java.util.List;

/**
 * The paper's metrics over a set of comparisons (see the package documentation for the exact
 * definitions). A rate is {@code NaN} where it is undefined: no judgments of that order, no
 * comparison judged in both orders, no parsed verdict.
 *
 * @param n                     comparisons
 * @param judgments             judgment records (one per comparison and order)
 * @param bothOrders            comparisons judged in both orders
 * @param accuracy              correct judgments / judgments
 * @param accuracyAb            correct "AB" judgments / "AB" judgments
 * @param accuracyBa            correct "BA" judgments / "BA" judgments
 * @param positionalConsistency comparisons correct in both orders / comparisons judged in both orders
 * @param orderAgreement        comparisons whose two verdicts, both parsed, name the same response / comparisons
 *                              judged in both orders
 * @param firstSlotRate         parsed verdicts choosing slot A / parsed verdicts
 * @param unparseableRate       unparseable verdicts / judgments
 */
record Rates(int n, int judgments, int bothOrders, double accuracy, double accuracyAb, double accuracyBa,
             double positionalConsistency, double orderAgreement, double firstSlotRate, double unparseableRate) {

    /** The rates' names in summary.json, in the order of {@link #values()}. */
    static final String[] NAMES = {"accuracy", "accuracy_ab", "accuracy_ba", "positional_consistency",
        "order_agreement", "first_slot_rate", "unparseable_rate"};

    static Rates of(List<JudgedComparison> comparisons) {
        int judgments = 0, correct = 0, ab = 0, abCorrect = 0, ba = 0, baCorrect = 0;
        int both = 0, bothCorrect = 0, agree = 0, parsed = 0, slotA = 0, unparseable = 0;
        for (JudgedComparison c : comparisons) {
            for (Judgment j : c.judgments()) {
                judgments++;
                if (j.correct()) {
                    correct++;
                }
                if (j.order().equals("AB")) {
                    ab++;
                    abCorrect += j.correct() ? 1 : 0;
                } else {
                    ba++;
                    baCorrect += j.correct() ? 1 : 0;
                }
                if (j.parsed()) {
                    parsed++;
                    slotA += j.verdict().equals("A") ? 1 : 0;
                } else {
                    unparseable++;
                }
            }
            if (c.bothOrders()) {
                both++;
                bothCorrect += c.correctInBoth() ? 1 : 0;
                agree += c.ordersAgree() ? 1 : 0;
            }
        }
        return new Rates(comparisons.size(), judgments, both, ratio(correct, judgments), ratio(abCorrect, ab),
                ratio(baCorrect, ba), ratio(bothCorrect, both), ratio(agree, both), ratio(slotA, parsed),
                ratio(unparseable, judgments));
    }

    double[] values() {
        return new double[] {accuracy, accuracyAb, accuracyBa, positionalConsistency, orderAgreement, firstSlotRate,
            unparseableRate};
    }

    static double ratio(long num, long den) {
        return den == 0 ? Double.NaN : (double) num / den;
    }
}
