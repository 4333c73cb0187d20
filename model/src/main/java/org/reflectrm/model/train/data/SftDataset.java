package org.reflectrm.model.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.Tokenizer;
import org.reflectrm.tokenizer.chat.ChatMessage;
import org.reflectrm.tokenizer.chat.ChatTemplateException;
import org.reflectrm.tokenizer.chat.Qwen3ChatTemplate;

/**
 * SFT examples read from a JSONL file (formats: {@link SftRecordParser}; rendering and loss mask:
 * {@link SftEncoder}), with what happened to each line ({@link SftDataStats}). Blank lines are ignored; a line
 * that cannot be used is skipped and reported, or, with {@link SftDataOptions#strict()}, throws
 * {@link BadInputException} naming the file and line: {@code data.jsonl line 7: "messages"[2] has no "content"}.
 */
public final class SftDataset {

    private final List<SftExample> examples;
    private final SftDataStats stats;

    private SftDataset(List<SftExample> examples, SftDataStats stats) {
        this.examples = List.copyOf(examples);
        this.stats = stats;
    }

    /** The examples, in file order. */
    public List<SftExample> examples() {
        return examples;
    }

    public SftDataStats stats() {
        return stats;
    }

    /**
     * Reads and tokenizes a JSONL file.
     *
     * @throws BadInputException if the file cannot be read, or (strict mode) on the first unusable line
     */
    public static SftDataset load(Path jsonl, Tokenizer tokenizer, Qwen3ChatTemplate template,
                                  SftDataOptions options) {
        byte[] data;
        try {
            data = Files.readAllBytes(jsonl);
        } catch (NoSuchFileException e) {
            throw new BadInputException(jsonl + ": no such file", e);
        } catch (IOException e) {
            throw new BadInputException(jsonl + ": cannot read: " + e.getMessage(), e);
        }
        return read(data, jsonl.toString(), new SftEncoder(tokenizer, template), options);
    }

    /** As {@link #load} on the bytes of a JSONL file; {@code name} names it in messages. */
    public static SftDataset read(byte[] jsonl, String name, SftEncoder encoder, SftDataOptions options) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(options, "options");
        List<SftExample> kept = new ArrayList<>();
        List<SftDataStats.Problem> problems = new ArrayList<>();
        int[] counts = new int[SftDataStats.Kind.values().length];
        int blank = 0;
        int truncated = 0;
        List<int[]> lines = JsonlLines.split(jsonl);
        for (int li = 0; li < lines.size(); li++) {
            int lineNo = li + 1;
            SftDataStats.Kind kind = SftDataStats.Kind.MALFORMED;
            String problem;
            try {
                String text = JsonlLines.utf8(jsonl, lines.get(li)[0], lines.get(li)[1]);
                if (text.isBlank()) {
                    blank++;
                    continue;
                }
                SftRecordParser.Parsed rec = SftRecordParser.parse(text);
                String id = rec.id() != null ? rec.id() : "line " + lineNo;
                SftExample ex = encode(encoder, id, rec.messages());
                boolean cut = false;
                if (ex.length() > options.maxLen()) {
                    if (options.overLong() == SftDataOptions.OverLong.REJECT) {
                        kind = SftDataStats.Kind.TOO_LONG;
                        throw new SftRecordParser.BadRecord("has " + ex.length() + " tokens, more than the maximum"
                                + " length " + options.maxLen());
                    }
                    int full = ex.length();
                    ex = new SftExample(id, Arrays.copyOf(ex.tokens(), options.maxLen()),
                            Arrays.copyOf(ex.lossMask(), options.maxLen()));
                    cut = true;
                    if (ex.targetCount() == 0) {
                        kind = SftDataStats.Kind.NO_LOSS_TOKENS;
                        throw new SftRecordParser.BadRecord("no assistant token within the first "
                                + options.maxLen() + " of its " + full + " tokens, so nothing to train on");
                    }
                }
                if (ex.targetCount() == 0) {
                    kind = SftDataStats.Kind.NO_LOSS_TOKENS;
                    throw new SftRecordParser.BadRecord("has no assistant message, so nothing to train on");
                }
                truncated += cut ? 1 : 0;
                kept.add(ex);
                continue;
            } catch (JsonlLines.NotUtf8 | SftRecordParser.BadRecord e) {
                problem = e.getMessage();
            }
            if (options.strict()) {
                throw new BadInputException(name + " line " + lineNo + ": " + problem);
            }
            counts[kind.ordinal()]++;
            if (problems.size() < SftDataStats.MAX_PROBLEMS) {
                problems.add(new SftDataStats.Problem(lineNo, kind, problem));
            }
        }
        SftDataStats stats = new SftDataStats(name, lines.size(), blank, kept.size(),
                counts[SftDataStats.Kind.MALFORMED.ordinal()], truncated,
                counts[SftDataStats.Kind.TOO_LONG.ordinal()], counts[SftDataStats.Kind.NO_LOSS_TOKENS.ordinal()],
                problems);
        return new SftDataset(kept, stats);
    }

    private static SftExample encode(SftEncoder encoder, String id, List<ChatMessage> messages)
            throws SftRecordParser.BadRecord {
        try {
            return encoder.encode(id, messages);
        } catch (ChatTemplateException e) {
            // the parser admits only what the template renders; this is a safety net, not an expected path
            throw new SftRecordParser.BadRecord("cannot be rendered with the chat template: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // train/eval split

    /** A deterministic train/eval partition; each part keeps file order. */
    public record Split(List<SftExample> train, List<SftExample> eval) {
        public Split {
            train = List.copyOf(train);
            eval = List.copyOf(eval);
        }
    }

    /** This dataset split with {@link #split(List, int, long)}. */
    public Split split(int evalCount, long seed) {
        return split(examples, evalCount, seed);
    }

    /** This dataset split with {@link #splitFraction(List, double, long)}. */
    public Split splitFraction(double evalFraction, long seed) {
        return splitFraction(examples, evalFraction, seed);
    }

    /**
     * Puts {@code evalCount} examples, chosen by a permutation seeded with {@code seed}, into the eval part and the
     * rest into the train part; both keep the input order. The same seed and input give the same split.
     *
     * @throws BadInputException if {@code evalCount} is negative or not smaller than the number of examples
     */
    public static Split split(List<SftExample> examples, int evalCount, long seed) {
        int n = examples.size();
        if (evalCount < 0 || (evalCount > 0 && evalCount >= n)) {
            throw new BadInputException("cannot hold out " + evalCount + " eval examples from " + n
                    + " SFT examples: at least one must stay for training");
        }
        int[] perm = Shuffle.permutation(n, Shuffle.derive(seed, -1));
        boolean[] isEval = new boolean[n];
        for (int i = 0; i < evalCount; i++) {
            isEval[perm[i]] = true;
        }
        List<SftExample> train = new ArrayList<>(n - evalCount);
        List<SftExample> eval = new ArrayList<>(evalCount);
        for (int i = 0; i < n; i++) {
            (isEval[i] ? eval : train).add(examples.get(i));
        }
        return new Split(train, eval);
    }

    /**
     * As {@link #split(List, int, long)} with {@code evalCount = round(evalFraction * n)}, at least 1 when the
     * fraction is positive.
     *
     * @throws BadInputException if the fraction is not in {@code [0, 1)} or leaves no training example
     */
    public static Split splitFraction(List<SftExample> examples, double evalFraction, long seed) {
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new BadInputException("eval fraction must be in [0, 1), got " + evalFraction);
        }
        int count = (int) Math.round(evalFraction * examples.size());
        if (evalFraction > 0 && count == 0) {
            count = 1;
        }
        return split(examples, count, seed);
    }
}
