package org.reflectrm.api;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.judge.Judge;

/** The engine's results of a pair's orders as a {@link Judgment}. */
final class Judgments {
    private Judgments() {
    }

    static Judgment of(Pair pair, Mode mode, List<Judge.Result> results, double seconds) {
        Judge.Result ab = results.getFirst();
        List<OrderJudgment> orders = new ArrayList<>();
        orders.add(order(ab, "AB"));
        String verdict = orders.getFirst().verdict();
        String status = ab.status();
        if (results.size() == 2) {
            OrderJudgment ba = order(results.get(1), "BA");
            orders.add(ba);
            // Both orders: the verdict both give, the only parseable one, or none if they disagree.
            String second = ba.verdict();
            if (verdict == null || second == null) {
                verdict = verdict != null ? verdict : second;
                status = verdict == null ? "unparseable" : "ok";
            } else if (!verdict.equals(second)) {
                verdict = null;
                status = "inconsistent";
            }
        }
        return new Judgment(pair, verdict, status, mode, ab.templateVersion(), orders, seconds, results);
    }

    private static OrderJudgment order(Judge.Result r, String order) {
        boolean swapped = order.equals("BA");
        List<Analysis> rollouts = r.rollouts().stream()
                .map(ro -> new Analysis(ro.verdict().analysis(), letter(ro.verdict().choice(), swapped),
                        ro.confidence(), ro.tokens()))
                .toList();
        boolean reflect = r.mode() == Judge.Mode.REFLECT;
        List<Reflection> reflections = r.reflections().stream()
                .map(f -> new Reflection(f.rollout(), f.rolloutFirst(), f.verdict().analysis(), f.verdict().parsed(),
                        f.rolloutWon()))
                .toList();
        return new OrderJudgment(order, letter(r.verdict(), swapped), r.status(), rollouts,
                reflect && r.anchor() >= 0 ? r.anchor() : null, reflections, r.winners(), r.anchorVoted(),
                r.rolloutNanos() / 1e9, r.reflectionNanos() / 1e9);
    }

    /** "A" or "B" for a verdict about the shown order (1 = shown first); {@code swapped} when B was shown first. */
    static String letter(Integer verdict, boolean swapped) {
        if (verdict == null) {
            return null;
        }
        return (verdict == 1) != swapped ? "A" : "B";
    }
}
