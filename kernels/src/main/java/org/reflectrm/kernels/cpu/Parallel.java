package org.reflectrm.kernels.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * A fixed team of threads for data-parallel loops. The calling thread takes part, so a
 * one-thread team runs everything inline with no hand-off cost.
 */
final class Parallel implements AutoCloseable {
    /** Below this many elements a loop is not worth handing to other threads. */
    static final int MIN_WORK = 1 << 15;

    private final int threads;
    private final ForkJoinPool pool;

    Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads - 1);
    }

    int threads() {
        return threads;
    }

    /**
     * Runs {@code body.accept(i)} for every i in {@code [0, tasks)}; tasks are handed out one at a
     * time so uneven tasks balance. Returns when all are done; the first failure is rethrown.
     */
    void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (pool == null || tasks == 1) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
                body.accept(i);
            }
        };
        int helpers = Math.min(threads - 1, tasks - 1);
        ForkJoinTask<?>[] started = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            started[h] = pool.submit(worker);
        }
        RuntimeException failure = null;
        try {
            worker.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        for (ForkJoinTask<?> task : started) {
            try {
                task.join();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Splits {@code [0, n)} into about {@code threads * 4} contiguous chunks whose bounds are
     * multiples of {@code align}, and runs {@code body(from, to)} on each.
     */
    void forRange(int n, int align, RangeBody body) {
        int chunks = Math.max(1, Math.min(threads * 4, (n + align - 1) / align));
        int per = ((n + chunks - 1) / chunks + align - 1) / align * align;
        int count = (n + per - 1) / per;
        forEach(count, c -> body.run(c * per, Math.min(n, (c + 1) * per)));
    }

    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body.accept(r)} for every row r in {@code [0, rows)}: inline when the whole job
     * ({@code rows · rowWork} elements) is below {@link #MIN_WORK}, else split across the team.
     * Either way each row is computed by the same code, so results do not depend on the split.
     */
    void rows(int rows, long rowWork, IntConsumer body) {
        if ((long) rows * rowWork < MIN_WORK) {
            for (int r = 0; r < rows; r++) {
                body.accept(r);
            }
        } else {
            forRange(rows, 1, (from, to) -> {
                for (int r = from; r < to; r++) {
                    body.accept(r);
                }
            });
        }
    }

    @FunctionalInterface
    interface LongRangeBody {
        void run(long from, long to);
    }

    /**
     * Runs {@code body(from, to)} over chunks of {@code [0, n)} whose bounds are multiples of
     * {@code align} (except n itself); one chunk, inline, when n is below {@link #MIN_WORK}. With
     * align = the vector length, an element falls in a vector body or the scalar tail the same
     * way whatever the split.
     */
    void chunks(long n, int align, LongRangeBody body) {
        if (n < MIN_WORK || n > Integer.MAX_VALUE) {
            body.run(0, n);
            return;
        }
        forRange((int) n, align, (from, to) -> body.run(from, to));
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
