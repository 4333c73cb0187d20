package org.reflectrm.kernels.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed team of threads for data-parallel loops. The calling thread takes part, so a
 * one-thread team runs everything inline with no hand-off cost.
 *
 * <p>Helpers wait for work by spinning for a short while before they park: a training step or
 * a decode token issues hundreds of parallel loops a few hundred microseconds apart, and waking
 * a parked thread for each cost tens of microseconds to milliseconds (on a busy machine). A
 * helper that finds no work within {@link #SPIN_NANOS} parks and is unparked by the next loop.
 */
final class Parallel implements AutoCloseable {
    /** Below this many elements a loop is not worth handing to other threads. */
    static final int MIN_WORK = 1 << 15;
    /** How long an idle helper spins before it parks. */
    private static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Thread[] helpers;
    /** Bumped once per loop; helpers compare it with the last generation they served. */
    private volatile long generation;
    private volatile Job job;
    private volatile boolean closed;
    private final ReentrantLock callers = new ReentrantLock();
    /** True on a thread that is running a loop's body: a nested loop runs inline. */
    private final ThreadLocal<Boolean> inLoop = ThreadLocal.withInitial(() -> false);

    /** One loop: its body, the next task to hand out, and how many helpers are taking part. */
    private static final class Job {
        final int tasks;
        final IntConsumer body;
        final AtomicInteger next = new AtomicInteger();
        /**
         * Helpers inside {@link #work()}. A helper joins before it takes a task, so once every task
         * is handed out, the caller waits only for helpers that hold one: a helper that the OS has
         * not scheduled yet (the machine busy with other processes) is not waited for, and finds
         * nothing left to do when it comes.
         */
        final AtomicInteger active = new AtomicInteger();
        volatile Throwable failure;

        Job(int tasks, IntConsumer body) {
            this.tasks = tasks;
            this.body = body;
        }

        void work() {
            try {
                for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
                    body.accept(i);
                }
            } catch (Throwable e) {
                // Caught whatever it is: a helper that died here would leave the caller waiting.
                if (failure == null) {
                    failure = e;
                }
                next.set(tasks);                                      // the others stop taking tasks
            }
        }
    }

    Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.helpers = new Thread[threads - 1];
        for (int h = 0; h < helpers.length; h++) {
            helpers[h] = Thread.ofPlatform().daemon().name("reflectrm-cpu-" + (h + 1)).unstarted(this::helperLoop);
            helpers[h].start();
        }
    }

    int threads() {
        return threads;
    }

    private void helperLoop() {
        inLoop.set(true);
        long served = 0;
        while (!closed) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (generation == served && !closed) {
                if (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            served = generation;
            Job j = job;
            j.active.incrementAndGet();
            j.work();
            j.active.decrementAndGet();
        }
    }

    /**
     * Runs {@code body.accept(i)} for every i in {@code [0, tasks)}; tasks are handed out one at a
     * time so uneven tasks balance. Returns when all are done; the first failure is rethrown.
     */
    void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (helpers.length == 0 || tasks == 1 || inLoop.get()) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        callers.lock();
        inLoop.set(true);
        try {
            Job j = new Job(tasks, body);
            job = j;
            generation++;
            for (Thread h : helpers) {
                LockSupport.unpark(h);
            }
            j.work();
            // Every task is handed out: wait for the helpers still running one. Spin briefly, then
            // yield, so that on a busy machine a helper waiting for a core can get this one.
            for (int spins = 0; j.active.get() > 0; spins++) {
                if (spins < 2000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            Throwable failure = j.failure;
            if (failure instanceof RuntimeException r) {
                throw r;
            } else if (failure instanceof Error e) {
                throw e;
            } else if (failure != null) {
                throw new IllegalStateException(failure);
            }
        } finally {
            inLoop.set(false);
            callers.unlock();
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
        closed = true;
        for (Thread h : helpers) {
            LockSupport.unpark(h);
        }
    }
}
