package org.reflectrm.model.train;

import java.util.List;
import org.reflectrm.model.train.data.MicroBatch;
import org.reflectrm.model.train.data.SftBatcher;

/**
 * The training micro-batches as one endless sequence: epoch 0's shuffled batches, then epoch 1's,
 * and so on. Position i is a pure function of the batcher's seed, so a resumed run finds its
 * place by skipping what was consumed.
 */
final class MicroBatchStream {
    private final SftBatcher batcher;
    private int epoch;
    private List<MicroBatch> current;
    private int index;
    private long consumed;

    MicroBatchStream(SftBatcher batcher) {
        this.batcher = batcher;
        this.current = batcher.epoch(0);
        if (current.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
    }

    /**
     * Micro-batches in the first {@code epochs} passes over the data (fractional: that share of
     * the last pass). With packing, passes can differ in micro-batch count, so each is counted.
     */
    long batchesIn(double epochs) {
        long total = 0;
        int whole = (int) Math.floor(epochs);
        for (int e = 0; e < whole; e++) {
            total += batcher.epoch(e).size();
        }
        double rest = epochs - whole;
        if (rest > 0) {
            total += (long) Math.ceil(rest * batcher.epoch(whole).size());
        }
        return total;
    }

    MicroBatch next() {
        if (index == current.size()) {
            epoch++;
            current = batcher.epoch(epoch);
            index = 0;
        }
        consumed++;
        return current.get(index++);
    }

    /** Epochs completed so far, fractional. */
    double epochProgress() {
        return epoch + (double) index / current.size();
    }

    void skip(long n) {
        for (long i = 0; i < n; i++) {
            next();
        }
    }

    long consumed() {
        return consumed;
    }
}
