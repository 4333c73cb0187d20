package org.reflectrm.reflect.eval.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One comparison with its judgments: the "AB" one, the "BA" one, or both ({@code --single-order}
 * runs have one). Built from the judgment records by {@link #group}, which checks the contract.
 */
record JudgedComparison(String id, String group, String subset, Judgment ab, Judgment ba) {

    /** The comparisons of the records, in order of first appearance. */
    static List<JudgedComparison> group(List<Judgment> judgments) {
        Map<String, Judgment[]> byId = new LinkedHashMap<>();
        for (Judgment j : judgments) {
            Judgment[] slots = byId.computeIfAbsent(j.id(), k -> new Judgment[2]);
            int k = j.order().equals("AB") ? 0 : 1;
            if (slots[k] != null) {
                throw new IllegalArgumentException("comparison " + j.id() + " has two " + j.order() + " judgments");
            }
            Judgment other = slots[1 - k];
            if (other != null) {
                if (other.label().equals(j.label())) {
                    throw new IllegalArgumentException("comparison " + j.id() + ": the AB and BA records have the same "
                            + "label " + j.label() + "; the label is the better slot as shown, so swapping flips it");
                }
                if (!other.group().equals(j.group()) || !other.subset().equals(j.subset())) {
                    throw new IllegalArgumentException("comparison " + j.id() + ": its two records disagree on group "
                            + "or subset");
                }
            }
            slots[k] = j;
        }
        List<JudgedComparison> out = new ArrayList<>(byId.size());
        for (Map.Entry<String, Judgment[]> e : byId.entrySet()) {
            Judgment any = e.getValue()[0] != null ? e.getValue()[0] : e.getValue()[1];
            out.add(new JudgedComparison(e.getKey(), any.group(), any.subset(), e.getValue()[0], e.getValue()[1]));
        }
        return out;
    }

    List<Judgment> judgments() {
        List<Judgment> js = new ArrayList<>(2);
        if (ab != null) {
            js.add(ab);
        }
        if (ba != null) {
            js.add(ba);
        }
        return js;
    }

    Judgment first() {
        return ab != null ? ab : ba;
    }

    boolean bothOrders() {
        return ab != null && ba != null;
    }

    /** Correct in both orders (only meaningful when {@link #bothOrders()}). */
    boolean correctInBoth() {
        return bothOrders() && ab.correct() && ba.correct();
    }

    /** Correct in every order it was judged in. */
    boolean correctInAll() {
        return (ab == null || ab.correct()) && (ba == null || ba.correct());
    }

    /** Both orders parsed and naming the same underlying response. */
    boolean ordersAgree() {
        return bothOrders() && ab.parsed() && ba.parsed() && ab.underlying().equals(ba.underlying());
    }

    /** The mean correctness of its orders: 0, 0.5 or 1 with two orders, 0 or 1 with one. */
    double meanCorrect() {
        double sum = 0;
        int n = 0;
        for (Judgment j : judgments()) {
            sum += j.correct() ? 1 : 0;
            n++;
        }
        return sum / n;
    }
}
