package org.reflectrm.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.JudgmentJson;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.judge.PairRecord;

/** Judging one batch of pairs into the records {@code judge --input} writes: the job's and SparkJudge's common step. */
final class PairBatches {
    private PairBatches() {
    }

    /** Counts for the job's summary, as the command line's. */
    record Tally(int judged, int unparseable, int labelled, int correct) implements java.io.Serializable {
        static final Tally ZERO = new Tally(0, 0, 0, 0);

        Tally plus(Tally t) {
            return new Tally(judged + t.judged, unparseable + t.unparseable, labelled + t.labelled, correct + t.correct);
        }
    }

    /** The records of {@code batch}, judged together in one {@link ReflectRM#judgeAll}, in its order. */
    static List<ObjectNode> judge(ReflectRM rm, JudgeOptions options, List<PairRecord> batch, ObjectMapper mapper) {
        // Pair.from keeps each pair's id, so each is seeded from it whatever else is in the batch (as in the CLI).
        List<Judgment> judgments = rm.judgeAll(batch.stream().map(Pair::from).toList(), options);
        List<ObjectNode> records = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            records.add(JudgmentJson.record(mapper, batch.get(i), judgments.get(i)));
        }
        return records;
    }

    /** What one record adds to the summary. */
    static Tally tally(ObjectNode record) {
        boolean labelled = record.has("label");
        return new Tally(1, record.get("verdict").isNull() ? 1 : 0, labelled ? 1 : 0,
                labelled && record.get("correct").asBoolean() ? 1 : 0);
    }
}
