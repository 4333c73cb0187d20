package org.reflectrm.reflect.toy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.reflectrm.model.judge.JudgePrompts;
import org.reflectrm.model.judge.JudgeTemplate;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.reflect.toy.ToyDomain.Pair;
import org.reflectrm.reflect.toy.ToyDomain.Understood;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * An imperfect teacher for the toy domain, writing SFT targets in the judge's output format:
 * <pre>{@code <Analysis>7+5=12; R1 says 12 (yes), R2 says 13 (no); R1 is right.</Analysis>
 * <Result>Response 1 is better than Response 2</Result>}</pre>
 * The working is computed from the question, not copied from a response. Each response's value
 * is marked {@code (yes)} or {@code (no)} right after it, against the working: a tiny model fails
 * to carry that comparison to the verdict in one step (the demo without the marks wrote
 * {@code 7+5=12; R1 says 12, R2 says 13; R2 is right.}), and each mark is a comparison of two
 * nearby numbers. With a seeded
 * probability the teacher slips: it writes the distractor's working ({@code 7+5=13}) and the
 * wrong verdict, so a critique of it can be checked against the question. Slips are more likely
 * when the wrong response is in slot 1 (the position bias the feasibility study saw), 25% against
 * 13% by default, 19% over both orders.
 *
 * <p>It also writes reflection judgments (the analysis-preference task) over one correct and one
 * slipped critique (shown as the judge shows critiques, {@link JudgePrompts#critique}): they restate what each critique picks and which is right, and end with
 * {@code Critique k is better than Critique j}. Everything is deterministic in the teacher's
 * seed and the pair's id.
 */
public final class ToyTeacher {
    public static final double DEFAULT_SLIP_WRONG_FIRST = 0.25;
    public static final double DEFAULT_SLIP_WRONG_SECOND = 0.13;
    public static final double DEFAULT_REFLECTION_FRACTION = 0.30;

    /** A response-preference judgment; {@code winner} is the slot it prefers, {@code slipped} whether it is wrong. */
    public record Critique(String text, int winner, boolean slipped) {
    }

    /**
     * One SFT example: {@code kind} is {@code pref} or {@code refl}; {@code prompt} the rendered
     * judge prompt (the user turn), {@code target} the teacher's answer.
     */
    public record Example(String id, String kind, String subset, String prompt, String target, int winner, boolean slipped) {
    }

    private final long seed;
    private final double slipWrongFirst;
    private final double slipWrongSecond;
    private final JudgeTemplate template;

    public ToyTeacher(long seed) {
        this(seed, DEFAULT_SLIP_WRONG_FIRST, DEFAULT_SLIP_WRONG_SECOND, JudgeTemplate.bundled(JudgeTemplate.DEFAULT_VERSION));
    }

    /** Slip rates when the wrong response is in slot 1 / slot 2, each in [0, 1]. */
    public ToyTeacher(long seed, double slipWrongFirst, double slipWrongSecond, JudgeTemplate template) {
        if (!(slipWrongFirst >= 0 && slipWrongFirst <= 1 && slipWrongSecond >= 0 && slipWrongSecond <= 1)) {
            throw new IllegalArgumentException("slip rates must be in [0, 1]");
        }
        this.seed = seed;
        this.slipWrongFirst = slipWrongFirst;
        this.slipWrongSecond = slipWrongSecond;
        this.template = template;
    }

    public JudgeTemplate template() {
        return template;
    }

    /** The two responses in slot order. */
    public static String[] shown(Pair p, boolean chosenFirst) {
        return chosenFirst ? new String[] {p.chosen(), p.rejected()} : new String[] {p.rejected(), p.chosen()};
    }

    /** The conversation context as the judge renders it: a single user message. */
    public static String context(Pair p) {
        return JudgeTemplate.context(List.of(ChatMessage.user(p.question())));
    }

    /** The teacher's judgment of {@code p} shown in that order; it may slip. */
    public Critique judge(Pair p, boolean chosenFirst) {
        double rate = chosenFirst ? slipWrongSecond : slipWrongFirst;
        boolean slip = rng(p, chosenFirst ? "judge-1" : "judge-2").nextDouble() < rate;
        return critique(p, chosenFirst, slip);
    }

    /** The judgment, slipped or not, as the teacher writes it. */
    public static Critique critique(Pair p, boolean chosenFirst, boolean slip) {
        Understood u = p.understood();
        String[] shown = shown(p, chosenFirst);
        String v1 = ToyDomain.valueOf(shown[0]), v2 = ToyDomain.valueOf(shown[1]);
        int right = chosenFirst ? 1 : 2;
        int winner = slip ? 3 - right : right;
        String work = slip ? u.workFor(p.distractor()) : u.work();
        String claimed = slip ? p.distractor() : p.answer();
        String text = "<Analysis>" + work + "; R1 says " + marked(v1, claimed) + ", R2 says " + marked(v2, claimed)
                + "; R" + winner + " is right.</Analysis>\n"
                + "<Result>" + Verdict.Kind.RESPONSE.sentence(winner) + "</Result>";
        return new Critique(text, winner, slip);
    }

    /** {@code value (yes)} if it is the value the working arrives at, {@code value (no)} otherwise. */
    static String marked(String value, String workingValue) {
        return value + (value.equals(workingValue) ? " (yes)" : " (no)");
    }

    /** A response-preference SFT example for {@code p} (order and slip drawn from the seed). */
    public Example preference(Pair p) {
        boolean chosenFirst = rng(p, "order").nextBoolean();
        Critique c = judge(p, chosenFirst);
        String[] shown = shown(p, chosenFirst);
        String prompt = template.renderResponse(context(p), shown[0], shown[1]);
        return new Example(p.id() + "-pref", "pref", p.task().id, prompt, c.text(), c.winner(), c.slipped());
    }

    /**
     * A reflection SFT example for {@code p}: one correct and one slipped critique of the same
     * shown pair, in a seeded order; the target prefers the correct one.
     */
    public Example reflection(Pair p) {
        SplittableRandom r = rng(p, "refl");
        boolean chosenFirst = r.nextBoolean();
        boolean correctFirst = r.nextBoolean();
        Critique good = critique(p, chosenFirst, false), bad = critique(p, chosenFirst, true);
        Critique c1 = correctFirst ? good : bad, c2 = correctFirst ? bad : good;
        String[] shown = shown(p, chosenFirst);
        String prompt = template.renderAnalysis(context(p), shown[0], shown[1], asCritique(c1), asCritique(c2));
        return new Example(p.id() + "-refl", "refl", p.task().id, prompt,
                reflectionText(p, chosenFirst, c1, c2), correctFirst ? 1 : 2, false);
    }

    /**
     * A judgment as it appears in a reflection prompt: rendered the way the judge's two-stage
     * reflection and {@code data build} render critiques ({@link JudgePrompts#critique}).
     */
    public static String asCritique(Critique c) {
        return JudgePrompts.critique(Verdict.parse(c.text(), Verdict.Kind.RESPONSE));
    }

    /** The reflection target: the working, what each critique picks (with the value it says), which critique is right. */
    static String reflectionText(Pair p, boolean chosenFirst, Critique c1, Critique c2) {
        Understood u = p.understood();
        String[] shown = shown(p, chosenFirst);
        String v1 = ToyDomain.valueOf(shown[0]), v2 = ToyDomain.valueOf(shown[1]);
        int rightResponse = chosenFirst ? 1 : 2;
        int k = c1.winner() == rightResponse ? 1 : 2;
        String answer = p.answer();
        return "<Analysis>" + u.work() + "; R1 says " + marked(v1, answer) + ", R2 says " + marked(v2, answer)
                + "; C1 picks R" + c1.winner() + " = " + marked(c1.winner() == 1 ? v1 : v2, answer)
                + ", C2 picks R" + c2.winner() + " = " + marked(c2.winner() == 1 ? v1 : v2, answer)
                + "; C" + k + " is right.</Analysis>\n"
                + "<Result>" + Verdict.Kind.CRITIQUE.sentence(k) + "</Result>";
    }

    /**
     * A fact example for {@code p}: its question asked plainly, answered with the working alone
     * ({@code What is 7+5?} → {@code 7+5=12}), with no responses in sight. It stands for what a
     * real judge's base model knows before it is taught to judge. Without it the toy judge never
     * learned to compute: every judge example shows the right value in one response, so it learned
     * to copy one of the two shown values into its working, and picked the right one for only
     * about two thirds of one-digit sums (it wrote {@code 7+5=13} when shown 12 and 13).
     */
    public static Example fact(Pair p) {
        return new Example(p.id() + "-fact", "fact", p.task().id, p.question(), p.understood().work(), 0, false);
    }

    /**
     * SFT examples for {@code pairs}: each pair gives a reflection example with probability
     * {@code reflectionFraction} (seeded per pair), a preference example otherwise, and, with
     * probability {@code factFraction} (seeded per pair), a {@link #fact} example too, right after it.
     */
    public List<Example> sft(List<Pair> pairs, double reflectionFraction, double factFraction) {
        if (!(reflectionFraction >= 0 && reflectionFraction <= 1) || !(factFraction >= 0 && factFraction <= 1)) {
            throw new IllegalArgumentException("reflectionFraction and factFraction must be in [0, 1]");
        }
        List<Example> out = new ArrayList<>();
        for (Pair p : pairs) {
            out.add(rng(p, "kind").nextDouble() < reflectionFraction ? reflection(p) : preference(p));
            if (factFraction > 0 && rng(p, "fact").nextDouble() < factFraction) {
                out.add(fact(p));
            }
        }
        return out;
    }

    /** {@link #sft(List, double, double)} without fact examples. */
    public List<Example> sft(List<Pair> pairs, double reflectionFraction) {
        return sft(pairs, reflectionFraction, 0);
    }

    private SplittableRandom rng(Pair p, String what) {
        long h = seed;
        for (char ch : (p.id() + "/" + what).toCharArray()) {
            h = (h ^ ch) * 0x100000001B3L;
        }
        return new SplittableRandom(h);
    }
}
