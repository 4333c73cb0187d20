package org.reflectrm.api;

import java.util.List;
import org.reflectrm.model.judge.Judge;

/**
 * Which response of a pair is better, and everything behind the verdict. Immutable.
 *
 * <p>With one order the verdict is that order's. With both orders it is the verdict both give;
 * if only one order could be parsed, that one's; if they disagree, null with status
 * {@code inconsistent}.
 */
public final class Judgment {
    private final Pair pair;
    private final String verdict;
    private final String status;
    private final Mode mode;
    private final String templateVersion;
    private final List<OrderJudgment> orders;
    private final double seconds;
    /** The engine's results behind {@link #orders}, for the judgment page. */
    private final List<Judge.Result> results;

    Judgment(Pair pair, String verdict, String status, Mode mode, String templateVersion, List<OrderJudgment> orders,
             double seconds, List<Judge.Result> results) {
        this.pair = pair;
        this.verdict = verdict;
        this.status = status;
        this.mode = mode;
        this.templateVersion = templateVersion;
        this.orders = List.copyOf(orders);
        this.seconds = seconds;
        this.results = List.copyOf(results);
    }

    /**
     * The judgment of {@code pair} from the engine's results of its orders ((A, B), then (B, A)
     * if judged), for code that runs {@link Judge} itself; {@code seconds} is the call's time.
     */
    public static Judgment of(Pair pair, Mode mode, List<Judge.Result> results, double seconds) {
        return Judgments.of(pair, mode, results, seconds);
    }

    /** The pair judged. */
    public Pair pair() {
        return pair;
    }

    /** "A", "B", or null when there is no verdict (see {@link #status()}). */
    public String verdict() {
        return verdict;
    }

    /** "ok", "unparseable" (no verdict could be parsed) or "inconsistent" (the two orders disagree). */
    public String status() {
        return status;
    }

    public Mode mode() {
        return mode;
    }

    /** The version of the judge's prompt templates. */
    public String templateVersion() {
        return templateVersion;
    }

    /** The judgment in each order judged: (A, B), then (B, A) with {@link JudgeOptions#bothOrders()}. */
    public List<OrderJudgment> orders() {
        return orders;
    }

    /** Wall time of the call that judged it; for a batch, the whole batch's. */
    public double seconds() {
        return seconds;
    }

    List<Judge.Result> results() {
        return results;
    }

    @Override
    public String toString() {
        return "Judgment[verdict=" + verdict + ", status=" + status + ", mode=" + mode + ", orders=" + orders.size() + "]";
    }
}
