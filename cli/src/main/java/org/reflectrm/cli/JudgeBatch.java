package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.JudgmentJson;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.judge.PairFile;
import org.reflectrm.model.judge.PairRecord;
import org.reflectrm.model.safetensors.RecordAppender;

/**
 * {@code judge --input FILE --output FILE}: every pair of a JSONL file, one result record per
 * pair appended to the output and flushed as soon as it is complete, so an interrupted run
 * loses at most the pairs in flight (one batch, {@code --batch-pairs}) and a rerun skips the ids
 * already there. The input is read and checked first: an id on two lines is an error naming both
 * (or, with {@code --dedupe}, the later lines are dropped and reported); a malformed line is
 * reported with its number, the others are judged, and the run then exits 2 ({@link SkippedLines}).
 */
final class JudgeBatch {
    private final JudgeCommand command;
    private final ReflectRM judge;
    private final JudgeOptions options;
    private final ObjectMapper mapper;

    JudgeBatch(JudgeCommand command, ReflectRM judge, JudgeOptions options, ObjectMapper mapper) {
        this.command = command;
        this.judge = judge;
        this.options = options;
        this.mapper = mapper;
    }

    /**
     * The pairs of an input file, read and checked before any judging: malformed lines are reported
     * (with their numbers) and counted, and an id seen on an earlier line is an error naming both
     * lines, or with {@code dedupe} the later line is dropped and reported.
     */
    record Input(Path file, List<PairRecord> pairs, int lines, int malformed, int duplicates) {
    }

    static Input read(Path input, long seed, boolean dedupe, PrintWriter err) throws IOException {
        byte[] data = PairFile.bytes(input);
        PairFile checked = PairFile.check(input, data, seed, dedupe, err);
        List<PairRecord> pairs = checked.pairs().stream().map(PairFile.Entry::pair).toList();
        return new Input(input, pairs, checked.nonBlank(), checked.malformed(), checked.duplicates());
    }

    /**
     * Judges the pairs of {@code input} not already in {@code output}; returns 0, or 2 (after the
     * summary) when malformed lines were skipped.
     */
    int run(Input input, Path output) throws IOException {
        PrintWriter err = command.spec.commandLine().getErr();
        Set<String> done = new HashSet<>(FinishedRecords.read(output, mapper).keySet());
        ProgressLine progress = new ProgressLine(err);
        int skipped = 0;
        Tally tally = new Tally();
        List<PairRecord> pending = new ArrayList<>();
        long t0 = System.nanoTime();
        List<PairRecord> pairs = input.pairs();
        try (RecordAppender out = new RecordAppender(output)) {
            for (int i = 0; i < pairs.size(); i++) {
                PairRecord pair = pairs.get(i);
                if (done.contains(pair.id())) {
                    skipped++;
                    continue;
                }
                pending.add(pair);
                if (pending.size() == command.batchPairs) {
                    tally.add(writeBatch(pending, out));
                    pending.clear();
                    showProgress(progress, tally, i + 1, pairs.size(), t0);
                }
            }
            if (!pending.isEmpty()) {
                tally.add(writeBatch(pending, out));
                showProgress(progress, tally, pairs.size(), pairs.size(), t0);
            }
        }
        progress.finish();
        err.printf("judged %d pairs in %.1f s (%d already in %s, %d malformed lines skipped%s); %d without a verdict%s%n",
                tally.judged, (System.nanoTime() - t0) / 1e9, skipped, output, input.malformed(),
                input.duplicates() == 0 ? "" : ", " + input.duplicates() + " duplicate ids dropped", tally.unparseable,
                tally.labelled == 0 ? "" : String.format("; accuracy %.1f%% of %d labelled",
                        100.0 * tally.correct / tally.labelled, tally.labelled));
        err.flush();
        return SkippedLines.exitCode(err, input.file().toString(), input.malformed(), input.lines(),
                "the other pairs were judged");
    }

    /** Counts for the summary line. */
    private static final class Tally {
        int judged, unparseable, labelled, correct;

        void add(Tally t) {
            judged += t.judged;
            unparseable += t.unparseable;
            labelled += t.labelled;
            correct += t.correct;
        }
    }

    /**
     * Judges a batch of pairs together (all their orders' rollouts as one generation, then all
     * reflections) and appends their records in input order, each written whole and flushed.
     */
    private Tally writeBatch(List<PairRecord> batch, RecordAppender out) throws IOException {
        // Pairs with ids: each is seeded from its id, so pairs do not repeat each other's draws.
        List<Judgment> judgments = judge.judgeAll(batch.stream().map(Pair::from).toList(), options);
        Tally tally = new Tally();
        StringBuilder lines = new StringBuilder();
        for (int b = 0; b < batch.size(); b++) {
            PairRecord pair = batch.get(b);
            ObjectNode record = JudgmentJson.record(mapper, pair, judgments.get(b));
            JsonNode verdict = record.get("verdict");
            if (pair.label() != null) {
                tally.labelled++;
                tally.correct += record.get("correct").asBoolean() ? 1 : 0;
            }
            tally.unparseable += verdict.isNull() ? 1 : 0;
            lines.append(mapper.writeValueAsString(record)).append('\n');
            tally.judged++;
        }
        // The batch in one write: a killed run keeps whole batches, so its rerun forms the same
        // batches from the pairs left, and batch composition changes the last bits of the logits.
        out.append(lines.toString());
        return tally;
    }

    private static void showProgress(ProgressLine progress, Tally tally, int line, int lines, long t0) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        progress.show(String.format("%s %d/%d pairs  %.2f pairs/s", ProgressLine.bar((double) line / lines, 24),
                line, lines, tally.judged / seconds));
    }
}
