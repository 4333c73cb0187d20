package org.reflectrm.reflect.toy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The toy world's judging domain: a seeded generator of verifiable, labelled pairs over a few
 * tasks a tiny model can compute most of the time and slip on sometimes (single-digit addition
 * and subtraction, comparing two 2-digit numbers, counting a letter in a word). Each pair holds a
 * question, a right response (chosen) and a wrong one (rejected) whose value is a plausible
 * distractor; both responses take varied surface forms so a judge cannot win by copying an
 * equation. A deterministic split by a hash of the question's canonical content keeps held-out
 * questions out of training whatever the seed.
 *
 * <p>{@link #understands(String)} parses a free-text question into the domain and computes its
 * answer and working; the generator's own questions go through it, so every label is computed
 * by the same code that a demo prompt goes through.
 */
public final class ToyDomain {

    /** A task of the domain; {@link #id} is the pair's {@code subset}. */
    public enum Task {
        ADD("add"), SUB("sub"), CMP("cmp"), CNT("cnt");

        public final String id;

        Task(String id) {
            this.id = id;
        }
    }

    /** Which side of the split a question is on. */
    public enum Split { TRAIN, HELD_OUT }

    /**
     * A question understood: its task, the right answer, the working that computes it
     * ({@code 7+5=12}, {@code 74>47}, {@code a0 d1 a1 d2 d3 = 3 d}) and the canonical key of
     * the question (the same for {@code 7+5} and {@code 7 + 5}).
     *
     * <p>Counting is worked as a running tally, one letter at a time: a 0.85M-parameter model
     * does not count a word's letters in one step (the study's "adadd has 3 d" was right for 61%
     * of held-out words), but it learns to compare a letter and add one.
     */
    public record Understood(Task task, String answer, String work, String key) {
        /** The working that would lead to {@code value} instead (a slip's working). */
        public String workFor(String value) {
            return switch (task) {
                case ADD, SUB -> work.substring(0, work.indexOf('=') + 1) + value;
                case CMP -> {
                    String op = work.contains(">") ? ">" : "<";
                    String[] two = work.split(op);
                    yield value.equals(answer) ? work : two[1] + op + two[0];
                }
                case CNT -> {
                    String[] k = key.split(":");
                    yield tally(k[2], k[1].charAt(0), Integer.parseInt(value) - Integer.parseInt(answer));
                }
            };
        }
    }

    /**
     * The running tally of {@code letter} in {@code word} ({@code a0 d1 a1 d2 d3 = 3 d}). A
     * nonzero {@code slip} makes one checkable mistake that ends the tally at the count plus
     * {@code slip}: +1 counts the first other letter, -1 misses the first match (a word of the
     * letter alone counts its first letter twice for +1).
     */
    static String tally(String word, char letter, int slip) {
        int at = -1;
        for (int i = 0; i < word.length() && slip != 0 && at < 0; i++) {
            boolean match = word.charAt(i) == letter;
            if (slip < 0 ? match : !match) {
                at = i;
            }
        }
        if (slip > 0 && at < 0) {
            at = 0;                                            // every letter matches: count one twice
        }
        StringBuilder w = new StringBuilder();
        int n = 0;
        for (int i = 0; i < word.length(); i++) {
            boolean match = word.charAt(i) == letter;
            n += match ? 1 : 0;
            if (i == at) {
                n += slip;
            }
            w.append(word.charAt(i)).append(n).append(' ');
        }
        return w.append("= ").append(n).append(' ').append(letter).toString();
    }

    /**
     * One labelled pair: {@code chosen} is right (its value is {@code answer}), {@code rejected}
     * wrong (its value is {@code distractor}).
     */
    public record Pair(String id, Task task, String question, String chosen, String rejected,
                       String answer, String distractor, Split split) {
        public Understood understood() {
            return understands(question).orElseThrow();
        }
    }

    public static final double DEFAULT_HELD_OUT = 0.10;

    private static final List<String> WORDS = List.of("strawberry", "banana", "mississippi", "letter", "apple",
            "coffee", "committee", "balloon", "bookkeeper", "parallel", "assess", "pepper", "success", "cocoa",
            "kayak", "lollipop", "referee", "tomorrow", "address", "giraffe");

    private final long seed;
    private final List<Task> tasks;
    private final double heldOut;

    public ToyDomain(long seed) {
        this(seed, EnumSet.allOf(Task.class), DEFAULT_HELD_OUT);
    }

    /** @param heldOut the fraction of questions (by hash) on the held-out side, in [0, 1) */
    public ToyDomain(long seed, Set<Task> tasks, double heldOut) {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("no tasks");
        }
        if (!(heldOut >= 0 && heldOut < 1)) {
            throw new IllegalArgumentException("heldOut must be in [0, 1), got " + heldOut);
        }
        this.seed = seed;
        this.tasks = List.copyOf(EnumSet.copyOf(tasks));
        this.heldOut = heldOut;
    }

    public long seed() {
        return seed;
    }

    /**
     * {@code n} pairs from one side of the split, tasks drawn uniformly; the same seed gives the
     * same pairs. Ids are {@code toy-train-SEED-I} / {@code toy-heldout-SEED-I}.
     */
    public List<Pair> pairs(Split split, int n) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + split.ordinal() + 1);
        List<Pair> out = new ArrayList<>(n);
        String prefix = "toy-" + (split == Split.TRAIN ? "train" : "heldout") + "-" + seed + "-";
        for (int tries = 0; out.size() < n; tries++) {
            if (tries > 1000L * n + 100000) {
                throw new IllegalStateException("cannot find enough " + split + " questions for " + tasks);
            }
            Task task = tasks.get(rng.nextInt(tasks.size()));
            String question = question(task, rng);
            Understood u = understands(question).orElseThrow(() -> new AssertionError("not understood: " + question));
            String distractor = distractor(u, question, rng);
            if (splitOfKey(splitKey(u, distractor)) != split) {
                continue;
            }
            out.add(new Pair(prefix + out.size(), task, question, response(u, question, u.answer(), rng),
                    response(u, question, distractor, rng), u.answer(), distractor, split));
        }
        return out;
    }

    /**
     * The split of a pair: its question and the wrong value it offers; empty if the question is not
     * in the domain. Comparisons and counts split by question, so held-out ones are never seen in
     * training. Sums and differences split by question and wrong value: the one-digit tasks have
     * 155 facts, which a tiny model learns one by one, so a held-out fact would test a skill it
     * cannot have; held-out sums are new pairs over facts it knows.
     */
    public Optional<Split> splitOf(String question, String wrong) {
        return understands(question).map(u -> splitOfKey(splitKey(u, wrong)));
    }

    private static String splitKey(Understood u, String wrong) {
        return u.task() == Task.ADD || u.task() == Task.SUB ? u.key() + ":" + wrong : u.key();
    }

    /**
     * The README's and the docs' example pairs, always on the training side: the front page shows
     * what the demo learned, and the held-out numbers are measured on pairs it never saw (two of
     * these would otherwise have been held out by the hash).
     */
    static final java.util.Set<String> SHOWCASE = java.util.Set.of("add:7+5:13", "sub:9-3:7", "cmp:47,74", "cnt:r:strawberry");

    Split splitOfKey(String key) {
        if (SHOWCASE.contains(key)) {
            return Split.TRAIN;
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(("toy-split:" + key).getBytes(StandardCharsets.UTF_8));
            long v = ((h[0] & 0xffL) << 24) | ((h[1] & 0xffL) << 16) | ((h[2] & 0xffL) << 8) | (h[3] & 0xffL);
            return v / (double) (1L << 32) < heldOut ? Split.HELD_OUT : Split.TRAIN;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- questions ----

    private static String question(Task task, SplittableRandom rng) {
        return switch (task) {
            case ADD -> arith(rng.nextInt(10), "+", rng.nextInt(10), rng);
            case SUB -> {
                int a = rng.nextInt(10);
                yield arith(a, "-", rng.nextInt(a + 1), rng);
            }
            case CMP -> {
                int x, y;
                if (rng.nextBoolean()) { // a digit-swapped pair, 47 / 74
                    int d1 = 1 + rng.nextInt(9), d2;
                    do {
                        d2 = 1 + rng.nextInt(9);
                    } while (d2 == d1);
                    x = 10 * d1 + d2;
                    y = 10 * d2 + d1;
                } else {
                    x = 10 + rng.nextInt(90);
                    do {
                        y = 10 + rng.nextInt(90);
                    } while (y == x);
                }
                String[] forms = {"Which is larger, %d or %d?", "Which is larger: %d or %d?", "Which is bigger, %d or %d?",
                        "Which number is larger, %d or %d?"};
                yield String.format(Locale.ROOT, forms[rng.nextInt(forms.length)], x, y);
            }
            case CNT -> {
                String word;
                char letter;
                if (rng.nextInt(4) == 0) {
                    word = WORDS.get(rng.nextInt(WORDS.size()));
                    letter = word.charAt(rng.nextInt(word.length()));
                } else {
                    char c1 = (char) ('a' + rng.nextInt(26)), c2;
                    do {
                        c2 = (char) ('a' + rng.nextInt(26));
                    } while (c2 == c1);
                    int len = 3 + rng.nextInt(5);
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < len; i++) {
                        sb.append(rng.nextBoolean() ? c1 : c2);
                    }
                    word = sb.toString();
                    letter = rng.nextBoolean() ? c1 : c2;
                }
                String[] forms = {"How many %c in %s?", "How many %c's are in %s?", "How many %c in %s?",
                        "How many times does %c appear in %s?"};
                yield String.format(Locale.ROOT, forms[rng.nextInt(forms.length)], letter, word);
            }
        };
    }

    private static String arith(int a, String op, int b, SplittableRandom rng) {
        String[] forms = {"What is %d%s%d?", "What is %d %s %d?", "What's %d%s%d?", "Compute %d %s %d."};
        return String.format(Locale.ROOT, forms[rng.nextInt(forms.length)], a, op, b);
    }

    /** A plausible wrong value: ±1, ±2, ±10 or a digit swap for add/sub; the smaller number; a count ±1. */
    private static String distractor(Understood u, String question, SplittableRandom rng) {
        switch (u.task()) {
            case ADD, SUB -> {
                int v = Integer.parseInt(u.answer());
                List<Integer> c = new ArrayList<>();
                for (int d : new int[] {1, -1, 2, -2, 10, -10}) {
                    if (v + d >= 0) {
                        c.add(v + d);
                    }
                }
                if (v >= 10 && v % 10 != v / 10 && v % 10 != 0) {
                    c.add(10 * (v % 10) + v / 10);
                }
                return Integer.toString(c.get(rng.nextInt(c.size())));
            }
            case CMP -> {
                String[] two = u.work().split("[<>]");
                return two[0].equals(u.answer()) ? two[1] : two[0];
            }
            default -> {
                int v = Integer.parseInt(u.answer());
                return Integer.toString(v == 0 || rng.nextBoolean() ? v + 1 : v - 1);
            }
        }
    }

    /** A response stating {@code value}, in one of several surface forms. */
    private static String response(Understood u, String question, String value, SplittableRandom rng) {
        List<String> forms = new ArrayList<>(List.of(value, value + ".", "The answer is " + value + "."));
        switch (u.task()) {
            case ADD, SUB -> {
                String lhs = u.work().substring(0, u.work().indexOf('='));
                forms.add(lhs + "=" + value);
                forms.add(lhs.replace("+", " + ").replace("-", " - ") + " = " + value);
                forms.add("It is " + value + ".");
            }
            case CMP -> {
                forms.add(value + " is larger.");
                forms.add("The larger number is " + value + ".");
            }
            case CNT -> {
                forms.add("There are " + value + ".");
                forms.add(value + " times.");
            }
        }
        return forms.get(rng.nextInt(forms.size()));
    }

    // ---- the parser ----

    private static final String NUM = "(\\d{1,9})";
    private static final Pattern ARITH = Pattern.compile(
            "(?:what\\s+is|what's|whats|compute|calculate)?\\s*" + NUM + "\\s*(\\+|-|plus|minus)\\s*" + NUM
                    + "\\s*(?:=\\s*)?[?.!]?", Pattern.CASE_INSENSITIVE);
    private static final Pattern CMP = Pattern.compile(
            "which\\s+(?:number\\s+)?is\\s+(larger|bigger|greater|smaller)\\s*[,:]?\\s*" + NUM + "\\s+or\\s+" + NUM
                    + "\\s*[?.!]?", Pattern.CASE_INSENSITIVE);
    private static final Pattern CNT = Pattern.compile(
            "how\\s+many\\s+(?:times\\s+does\\s+)?[\"']?([a-z])[\"']?(?:'s|s)?\\s+(?:are\\s+(?:there\\s+)?)?"
                    + "(?:appear\\s+)?in\\s+(?:the\\s+word\\s+)?[\"']?([a-z]+)[\"']?\\s*[?.!]?", Pattern.CASE_INSENSITIVE);

    /**
     * Whether {@code question} is in the domain, and if so its answer and working. Accepted
     * (case-insensitive, surrounding whitespace ignored):
     * <ul>
     *   <li>{@code What is 7+5?}, {@code What is 7 + 5?}, {@code What's 9-3?}, {@code Compute 7 plus 5.},
     *       {@code 7+5}: non-negative integers (up to 9 digits), + or -;</li>
     *   <li>{@code Which is larger, 47 or 74?} (also bigger / greater / smaller, {@code :} for {@code ,},
     *       {@code Which number is ...}); the two numbers must differ;</li>
     *   <li>{@code How many r in strawberry?}, {@code How many r's are in strawberry?},
     *       {@code How many times does r appear in strawberry?}: one letter, one word of letters.</li>
     * </ul>
     */
    public static Optional<Understood> understands(String question) {
        if (question == null) {
            return Optional.empty();
        }
        String q = question.strip();
        Matcher m = ARITH.matcher(q);
        if (m.matches()) {
            long a = Long.parseLong(m.group(1)), b = Long.parseLong(m.group(3));
            boolean add = m.group(2).equals("+") || m.group(2).equalsIgnoreCase("plus");
            String op = add ? "+" : "-";
            long v = add ? a + b : a - b;
            return Optional.of(new Understood(add ? Task.ADD : Task.SUB, Long.toString(v),
                    a + op + b + "=" + v, (add ? "add:" : "sub:") + a + op + b));
        }
        m = CMP.matcher(q);
        if (m.matches()) {
            long x = Long.parseLong(m.group(2)), y = Long.parseLong(m.group(3));
            if (x == y) {
                return Optional.empty();
            }
            boolean smaller = m.group(1).equalsIgnoreCase("smaller");
            long hi = Math.max(x, y), lo = Math.min(x, y);
            String work = smaller ? lo + "<" + hi : hi + ">" + lo;
            if (smaller) {
                return Optional.of(new Understood(Task.CMP, Long.toString(lo), work, "cmp-small:" + lo + "," + hi));
            }
            return Optional.of(new Understood(Task.CMP, Long.toString(hi), work, "cmp:" + lo + "," + hi));
        }
        m = CNT.matcher(q);
        if (m.matches()) {
            char c = Character.toLowerCase(m.group(1).charAt(0));
            String word = m.group(2).toLowerCase(Locale.ROOT);
            long n = word.chars().filter(ch -> ch == c).count();
            return Optional.of(new Understood(Task.CNT, Long.toString(n), tally(word, c, 0), "cnt:" + c + ":" + word));
        }
        return Optional.empty();
    }

    /** The value a response states (the last integer in it), or null if it states none. */
    public static String valueOf(String response) {
        Matcher m = Pattern.compile("-?\\d+").matcher(response);
        String last = null;
        while (m.find()) {
            last = m.group();
        }
        return last;
    }
}
