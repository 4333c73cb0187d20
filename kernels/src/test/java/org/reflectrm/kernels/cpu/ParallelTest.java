package org.reflectrm.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The thread team: every task once, failures surface, nesting and concurrent callers are safe. */
class ParallelTest {

    @Test
    void everyTaskRunsExactlyOnceAcrossManyLoops() {
        try (Parallel p = new Parallel(3)) {
            for (int round = 0; round < 2000; round++) {
                int tasks = 1 + round % 37;
                AtomicIntegerArray hits = new AtomicIntegerArray(tasks);
                p.forEach(tasks, hits::incrementAndGet);
                for (int i = 0; i < tasks; i++) {
                    assertEquals(1, hits.get(i), "round " + round + " task " + i);
                }
            }
        }
    }

    @Test
    void failuresOfAnyKindReachTheCallerAndTheTeamStaysUsable() {
        try (Parallel p = new Parallel(2)) {
            IllegalStateException boom = new IllegalStateException("boom");
            assertSame(boom, assertThrows(IllegalStateException.class, () -> p.forEach(8, i -> {
                if (i == 5) {
                    throw boom;
                }
            })));
            assertThrows(AssertionError.class, () -> p.forEach(8, i -> {
                if (i == 2) {
                    throw new AssertionError("error in a helper");
                }
            }));
            AtomicIntegerArray hits = new AtomicIntegerArray(16);
            p.forEach(16, hits::incrementAndGet);
            for (int i = 0; i < 16; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void aLoopInsideALoopRunsInline() {
        try (Parallel p = new Parallel(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(8 * 8);
            p.forEach(8, i -> p.forEach(8, j -> hits.incrementAndGet(i * 8 + j)));
            for (int i = 0; i < 64; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void callersOnSeveralThreadsTakeTurns() throws InterruptedException {
        try (Parallel p = new Parallel(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(4 * 500);
            Thread[] callers = new Thread[4];
            for (int c = 0; c < callers.length; c++) {
                int base = c * 500;
                callers[c] = new Thread(() -> {
                    for (int round = 0; round < 50; round++) {
                        int from = base + round * 10;
                        p.forEach(10, i -> hits.incrementAndGet(from + i));
                    }
                });
                callers[c].start();
            }
            for (Thread t : callers) {
                t.join();
            }
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(1, hits.get(i), "slot " + i);
            }
        }
    }
}
