package org.reflectrm.reflect.eval.report;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.IntFunction;
import org.reflectrm.model.judge.Confidence;
import org.reflectrm.model.judge.Judge;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One judgment as a page ({@code judge --html}), for reading what the judge did: the conversation
 * and both responses, the verdict, and every rollout's generated tokens tinted by their
 * log-probability on a fixed scale, the tokens behind its confidence (the lowest
 * {@code bottomFraction}, as {@link Confidence#bottomIndices} picks them) marked, each token's
 * log-probability in its tooltip; then the rollout's verdict and confidence, the anchor, and for
 * {@code reflect} each reflection (which rollout against the anchor, in which order, its text and
 * who won) and the final vote. Self-contained like {@link EvalReport}: inline CSS, no script, no
 * network; every text escaped.
 */
public final class JudgmentPage {
    /**
     * What was judged and how it came out. {@code pair} holds the conversation and responses A
     * ({@code response1}) and B ({@code response2}); {@code orders} the judgment of (A, B) and,
     * when both orders were judged, of (B, A) second; {@code verdict} the combined verdict ("A",
     * "B" or null) and {@code status} its status ("ok", "unparseable", "inconsistent");
     * {@code bottomFraction} the share of tokens the confidence averages.
     */
    public record Judgment(Judge.Item pair, List<Judge.Result> orders, String verdict, String status,
                           double bottomFraction) {
        public Judgment {
            if (orders.isEmpty() || orders.size() > 2) {
                throw new IllegalArgumentException("a judgment has one or two orders, got " + orders.size());
            }
        }
    }

    /** The tint scale: a token whose log-probability is at least {@code LOWER[k]} (and below the one before) gets class t{@code k}. */
    static final double[] LOWER = {-0.1, -0.5, -1, -2, -4, Double.NEGATIVE_INFINITY};
    private static final String[] BACKGROUND = {"#ffffff", "#fff1c1", "#ffd97a", "#ffad5c", "#f7735a", "#c9302c"};

    private JudgmentPage() {
    }

    /** The page; {@code tokenText} gives a token id's text (a special token as e.g. ⟨|im_end|⟩). */
    public static String html(Judgment j, IntFunction<String> tokenText) {
        StringBuilder h = new StringBuilder();
        Judge.Result first = j.orders().getFirst();
        h.append("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>reflectrm-j judgment</title><style>")
                .append(style()).append("</style></head><body>");
        h.append("<h1>Judgment</h1>");
        h.append("<p class='verdict'>Final verdict: ").append(j.verdict() == null
                ? "none (" + esc(j.status()) + ")" : "Response " + esc(j.verdict()) + " is better").append("</p>");
        h.append("<p class='note'>mode ").append(mode(first)).append("; template ").append(esc(first.templateVersion()))
                .append("; ").append(first.rollouts().size()).append(first.rollouts().size() == 1 ? " rollout" : " rollouts")
                .append(j.orders().size() == 2 ? " per order; judged in both orders (A, B) and (B, A): the combined verdict "
                        + "is the one both give, the parseable one if the other is unparseable, and none if they disagree"
                        : "; judged in the order (A, B)")
                .append(".</p>");
        h.append("<h2>Conversation</h2>");
        for (ChatMessage m : j.pair().conversation()) {
            h.append("<div class='msg'><div class='role'>").append(esc(m.role())).append("</div><pre>")
                    .append(esc(m.content() == null ? "" : m.content())).append("</pre></div>");
        }
        h.append("<div class='responses'>");
        for (String[] r : List.of(new String[] {"A", j.pair().response1()}, new String[] {"B", j.pair().response2()})) {
            h.append("<div class='response'><h3>Response ").append(r[0]).append("</h3><pre>").append(esc(r[1]))
                    .append("</pre></div>");
        }
        h.append("</div>");
        h.append(legend(j.bottomFraction()));
        for (int o = 0; o < j.orders().size(); o++) {
            order(h, j.orders().get(o), o == 1, j.bottomFraction(), tokenText);
        }
        return h.append("</body></html>\n").toString();
    }

    private static String style() {
        StringBuilder s = new StringBuilder();
        s.append("body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}")
                .append("pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-family:inherit}")
                .append(".note{color:#555;font-size:90%}.verdict{font-size:120%;font-weight:bold}")
                .append(".msg,.response,.card{border:1px solid #ccc;border-radius:4px;padding:6px 10px;margin:8px 0}")
                .append(".role{font-size:85%;color:#555;text-transform:uppercase}")
                .append(".responses{display:flex;gap:16px}.response{flex:1;min-width:0}.response h3{margin:2px 0}")
                .append("table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}")
                .append("th{background:#f3f3f3}.card h3{margin:2px 0 6px;font-size:105%}")
                .append(".badge{display:inline-block;border-radius:3px;padding:0 6px;margin-left:6px;font-size:85%;font-weight:normal;background:#eee}")
                .append(".anchor{background:#1f77b4;color:#fff}.won{background:#2ca02c;color:#fff}.lost{background:#d62728;color:#fff}")
                .append(".bad{background:#777;color:#fff}.card.isanchor{border:2px solid #1f77b4}")
                .append(".toks{white-space:pre-wrap;word-break:break-word;font-family:monospace;font-size:13px;line-height:1.9}")
                .append(".toks span,.toks mark{color:#222;border-right:1px solid rgba(0,0,0,.08)}")
                .append(".toks mark,.legend mark{outline:2px solid #111;outline-offset:-1px;font-weight:bold}")
                .append(".legend span,.legend mark{display:inline-block;padding:1px 6px;margin-right:4px;font-size:85%}.legend span{border:1px solid #ddd}")
                .append(".vote{border-left:4px solid #444;padding:4px 10px;margin:10px 0;background:#f7f7f7}");
        for (int k = 0; k < BACKGROUND.length; k++) {
            s.append(".t").append(k).append("{background:").append(BACKGROUND[k]).append('}');
        }
        s.append(".toks .t5,.legend .t5{color:#fff}");
        return s.toString();
    }

    private static String legend(double bottomFraction) {
        StringBuilder l = new StringBuilder("<p class='legend note'>Token tint, by log-probability (natural log) of the token "
                + "as generated: ");
        for (int k = 0; k < LOWER.length; k++) {
            String range = k == 0 ? f("≥ %.1f", LOWER[0]) : k == LOWER.length - 1 ? f("< %.0f", LOWER[k - 1])
                    : f("%s to %s", num(LOWER[k]), num(LOWER[k - 1]));
            l.append("<span class='t").append(k).append("'>").append(range).append("</span>");
        }
        l.append(" <mark class='t0'>outlined</mark> the lowest ").append(percent(bottomFraction))
                .append(" of a rollout's tokens, whose mean log-probability is its confidence. Hover a token for its "
                        + "log-probability.</p>");
        return l.toString();
    }

    private static void order(StringBuilder h, Judge.Result r, boolean swapped, double bottomFraction, IntFunction<String> tokenText) {
        String one = swapped ? "B" : "A", two = swapped ? "A" : "B";
        h.append("<h2>Order (").append(one).append(", ").append(two).append("): Response ").append(one)
                .append(" shown as Response 1, ").append(two).append(" as Response 2</h2>");
        h.append("<p class='verdict'>Verdict in this order: ").append(r.verdict() == null ? "none (unparseable)"
                : "Response " + r.verdict() + " (" + letter(r.verdict(), swapped) + ") is better").append("</p>");
        boolean reflect = r.mode() == Judge.Mode.REFLECT;
        Set<Integer> winners = new HashSet<>(r.winners());
        Set<Integer> reflected = new HashSet<>();
        r.reflections().forEach(f -> reflected.add(f.rollout()));

        // The rollouts at a glance.
        h.append("<table><tr><th>rollout</th><th>verdict</th><th>confidence</th><th>tokens</th>");
        if (reflect) {
            h.append("<th>role</th>");
        }
        h.append("</tr>");
        for (int i = 0; i < r.rollouts().size(); i++) {
            Judge.Rollout ro = r.rollouts().get(i);
            h.append("<tr><td>").append(i).append("</td><td>").append(said(ro.verdict(), swapped)).append("</td><td>")
                    .append(confidence(ro.confidence())).append("</td><td>").append(ro.tokens()).append("</td>");
            if (reflect) {
                h.append("<td>").append(role(r, i, winners, reflected)).append("</td>");
            }
            h.append("</tr>");
        }
        h.append("</table>");

        for (int i = 0; i < r.rollouts().size(); i++) {
            Judge.Rollout ro = r.rollouts().get(i);
            boolean anchor = reflect && i == r.anchor();
            h.append("<div class='card").append(anchor ? " isanchor" : "").append("' id='").append(swapped ? "ba" : "ab")
                    .append("-rollout-").append(i).append("'><h3>Rollout ").append(i);
            if (reflect) {
                h.append(badge(r, i, winners, reflected));
            }
            h.append("</h3><p class='note'>Verdict: ").append(said(ro.verdict(), swapped)).append(". Confidence ")
                    .append(confidence(ro.confidence()));
            int[] bottom = Confidence.bottomIndices(ro.logprobs(), bottomFraction);
            h.append(ro.tokens() == 0 ? " (no tokens)" : f(" (mean log-probability of its lowest %d of %d tokens, outlined)",
                    bottom.length, ro.tokens())).append(".</p>");
            h.append("<div class='toks'>").append(tokens(ro, bottom, tokenText)).append("</div></div>");
        }

        if (reflect) {
            reflections(h, r, swapped);
        } else {
            vote(h, r, swapped);
        }
    }

    /** The rollout's tokens as spans, the {@code bottom} ones as marks, each with its log-probability as tooltip. */
    static String tokens(Judge.Rollout ro, int[] bottom, IntFunction<String> tokenText) {
        boolean[] low = new boolean[ro.tokens()];
        for (int i : bottom) {
            low[i] = true;
        }
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < ro.tokens(); i++) {
            String text = tokenText.apply(ro.tokenIds()[i]);
            double lp = ro.logprobs()[i];
            String tag = low[i] ? "mark" : "span";
            t.append('<').append(tag).append(" class='t").append(tint(lp)).append("' title='")
                    .append(esc(f("%s · log p %.4f · p %.3g%s", visible(text), lp, Math.exp(lp), low[i] ? " · lowest" : "")))
                    .append("'>").append(esc(text)).append("</").append(tag).append('>');
        }
        return t.toString();
    }

    /** The tint class of a log-probability (NaN counts as the lowest). */
    static int tint(double logprob) {
        for (int k = 0; k < LOWER.length - 1; k++) {
            if (logprob >= LOWER[k]) {
                return k;
            }
        }
        return LOWER.length - 1;
    }

    private static void reflections(StringBuilder h, Judge.Result r, boolean swapped) {
        if (r.anchor() < 0) {
            h.append("<div class='vote'>No rollout gave a verdict: there is no anchor, no reflection and no verdict.</div>");
            return;
        }
        h.append("<h3>Reflections against the anchor (rollout ").append(r.anchor()).append(")</h3>");
        if (r.reflections().isEmpty()) {
            h.append("<p class='note'>No other rollout gave a verdict: nothing to reflect on.</p>");
        }
        for (Judge.Reflection f : r.reflections()) {
            int slot = f.rolloutFirst() ? 1 : 2;
            h.append("<div class='card'><h3>Rollout ").append(f.rollout()).append(" against the anchor")
                    .append(f.rolloutWon() ? "<span class='badge won'>rollout won</span>"
                            : f.verdict().parsed() ? "<span class='badge lost'>anchor won</span>"
                            : "<span class='badge bad'>unparseable: counts as a loss</span>").append("</h3>");
            h.append("<p class='note'>Rollout ").append(f.rollout()).append("'s critique shown ")
                    .append(f.rolloutFirst() ? "first" : "second").append(" (Critique ").append(slot).append("), the anchor's ")
                    .append(f.rolloutFirst() ? "second" : "first").append(" (Critique ").append(3 - slot).append("). ")
                    .append(f.verdict().parsed() ? "Verdict: Critique " + f.verdict().choice() + " is better, i.e. "
                            + (f.rolloutWon() ? "rollout " + f.rollout() : "the anchor") + "."
                            : "No valid verdict.").append("</p><pre>").append(esc(f.text())).append("</pre></div>");
        }
        List<Integer> voters = new ArrayList<>(r.winners());
        h.append("<div class='vote'><b>Final vote.</b> Winners: ").append(r.winners().isEmpty() ? "none"
                : "rollout" + (r.winners().size() == 1 ? " " : "s ") + join(r.winners())).append(". ");
        if (r.anchorVoted()) {
            voters.add(r.anchor());
            h.append(r.winners().isEmpty() ? "With no winners" : "The winners tie").append(", so the anchor (rollout ")
                    .append(r.anchor()).append(") had to vote with them. ");
        } else {
            h.append("The anchor did not have to vote. ");
        }
        h.append(tally(r, voters, swapped)).append(" Verdict: ").append(verdictText(r.verdict(), swapped)).append(".</div>");
    }

    private static void vote(StringBuilder h, Judge.Result r, boolean swapped) {
        h.append("<div class='vote'><b>").append(r.mode() == Judge.Mode.GREEDY ? "Greedy" : "Majority vote").append(".</b> ");
        if (r.mode() != Judge.Mode.GREEDY) {
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < r.rollouts().size(); i++) {
                all.add(i);
            }
            h.append(tally(r, all, swapped)).append(" A tie, or no parseable rollout, gives no verdict. ");
        } else {
            h.append("The one analysis decides. ");
        }
        h.append("Verdict: ").append(verdictText(r.verdict(), swapped)).append(".</div>");
    }

    private static String tally(Judge.Result r, List<Integer> voters, boolean swapped) {
        int ones = 0, twos = 0, none = 0;
        for (int i : voters) {
            Verdict v = r.rollouts().get(i).verdict();
            if (!v.parsed()) {
                none++;
            } else if (v.choice() == 1) {
                ones++;
            } else {
                twos++;
            }
        }
        return f("Votes: Response 1 (%s) %d, Response 2 (%s) %d%s.", letter(1, swapped), ones, letter(2, swapped), twos,
                none == 0 ? "" : f(", unparseable %d (not counted)", none));
    }

    private static String role(Judge.Result r, int i, Set<Integer> winners, Set<Integer> reflected) {
        if (i == r.anchor()) {
            return "anchor" + (r.anchorVoted() ? ", voted" : "");
        }
        if (!r.rollouts().get(i).verdict().parsed()) {
            return "unparseable: no reflection, no vote";
        }
        if (winners.contains(i)) {
            return "won its reflection, voted";
        }
        return reflected.contains(i) ? "lost its reflection" : "not reflected on";
    }

    private static String badge(Judge.Result r, int i, Set<Integer> winners, Set<Integer> reflected) {
        if (i == r.anchor()) {
            return "<span class='badge anchor'>anchor</span>";
        }
        if (!r.rollouts().get(i).verdict().parsed()) {
            return "<span class='badge bad'>unparseable</span>";
        }
        if (winners.contains(i)) {
            return "<span class='badge won'>won its reflection</span>";
        }
        return reflected.contains(i) ? "<span class='badge lost'>lost its reflection</span>" : "";
    }

    private static String said(Verdict v, boolean swapped) {
        return v.parsed() ? "Response " + v.choice() + " (" + letter(v.choice(), swapped) + ")" : "unparseable";
    }

    private static String verdictText(Integer verdict, boolean swapped) {
        return verdict == null ? "none" : "Response " + verdict + " (" + letter(verdict, swapped) + ") is better";
    }

    private static String letter(int shown, boolean swapped) {
        return (shown == 1) != swapped ? "A" : "B";
    }

    private static String confidence(double c) {
        return Double.isFinite(c) ? f("%.4f", c) : "—";
    }

    private static String mode(Judge.Result r) {
        return r.mode().name().toLowerCase(Locale.ROOT);
    }

    private static String join(List<Integer> xs) {
        return String.join(", ", xs.stream().map(String::valueOf).toList());
    }

    private static String percent(double fraction) {
        double p = fraction * 100;
        return p == Math.rint(p) ? f("%.0f%%", p) : f("%.3g%%", p);
    }

    private static String num(double v) {
        return v == Math.rint(v) ? f("%.0f", v) : f("%.1f", v);
    }

    /** A token for a tooltip: line breaks and tabs as escapes, so that the tooltip shows them. */
    private static String visible(String token) {
        return "“" + token.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "”";
    }

    private static String esc(String s) {
        return Svg.esc(s);
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
