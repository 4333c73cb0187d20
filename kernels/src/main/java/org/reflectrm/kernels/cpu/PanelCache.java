package org.reflectrm.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;
import org.reflectrm.kernels.DType;

/**
 * The BF16 and 8-bit weights this backend has repacked into {@link Panels} for batched decode,
 * made on a weight's first batched use and kept while its memory segment object is alive.
 *
 * <p>Keys are the weight's segment <em>object</em> and offset, not its address: a model that is
 * closed and another mapped at the same address must not find the first one's panels. A
 * segment that is no longer reachable drops its entries, and their memory (an automatic arena)
 * goes with them. Weights are assumed not to change while their panels live; the model's BF16
 * and 8-bit weights are read-only mappings, and fine-tuning widens them to F32, which is never repacked.
 *
 * <p>A budget bounds the extra memory: once it is spent, further weights keep the row kernel.
 * Packing happens in first-use order, so a run decides the same way every time on a machine.
 */
final class PanelCache {
    /** The smallest batch BF16 panels serve: below it the row kernel is faster (see Bf16Panels). */
    static final int MIN_ROWS = 3;
    /**
     * The smallest batch 8-bit panels serve: at 2 rows they match the row path ({@link Q8Panel})
     * on a layer in cache and run 1.8× as fast on the LM head from memory; 1 row keeps the row
     * kernel, which reads each weight once with no padded tile.
     */
    static final int MIN_ROWS_Q8 = 2;

    private final long budgetBytes;
    private long usedBytes;
    private final Map<Key, Panels> panels = new HashMap<>();
    private final ReferenceQueue<MemorySegment> dead = new ReferenceQueue<>();

    /** The system property that sets the budget, in MiB (0 turns the panels off). */
    static final String BUDGET_PROPERTY = "reflectrm.panelBudgetMiB";

    /**
     * The budget: {@value #BUDGET_PROPERTY} if set, else a quarter of the machine's memory, so a
     * model whose weights fit in it decodes batches on panels, doubling its weights' memory.
     */
    static long defaultBudget() {
        String set = System.getProperty(BUDGET_PROPERTY);
        if (set != null) {
            try {
                return Math.max(0, Long.parseLong(set.strip())) << 20;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("-D" + BUDGET_PROPERTY + "=" + set + ": expected MiB, a whole number");
            }
        }
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long total = os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : 0;
        return total / 4;
    }

    /** The smallest batch the panels of a weight of this type serve. */
    static int minRows(DType type) {
        return type == DType.Q8 ? MIN_ROWS_Q8 : MIN_ROWS;
    }

    PanelCache(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    /** A weak reference to a segment object, equal to another only for the same object and offset. */
    private static final class Key extends WeakReference<MemorySegment> {
        private final long offset;
        private final int hash;
        private final long bytes;

        Key(MemorySegment segment, long offset, long bytes, ReferenceQueue<MemorySegment> queue) {
            super(segment, queue);
            this.offset = offset;
            this.bytes = bytes;
            this.hash = System.identityHashCode(segment) * 31 + Long.hashCode(offset);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key other && other.offset == offset && other.get() == get() && get() != null;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /**
     * The panels of the weight {@code W[n, k]} of {@code type} (BF16 or Q8, see
     * {@link Panels#fits}) at {@code off} of {@code w}, packed now if this is its first use and
     * the budget allows; null when it does not (the caller keeps the rows).
     */
    synchronized Panels get(MemorySegment w, long off, DType type, int n, int k) {
        purge();
        long bytes = Panels.bytes(type, n, k);
        Panels p = panels.get(new Key(w, off, bytes, null));
        if (p != null && p.type() == type && p.n() == n && p.k() == k) {
            return p;
        }
        if (p != null || usedBytes + bytes > budgetBytes) {
            return null;
        }
        p = Panels.pack(type, w, off, n, k, Arena.ofAuto());
        panels.put(new Key(w, off, bytes, dead), p);
        usedBytes += bytes;
        return p;
    }

    /** Bytes of panels held now. */
    synchronized long usedBytes() {
        purge();
        return usedBytes;
    }

    private void purge() {
        for (var r = dead.poll(); r != null; r = dead.poll()) {
            Key k = (Key) r;
            // The key's referent is gone, so equals() cannot find it: remove it by identity.
            if (panels.keySet().removeIf(e -> e == k)) {
                usedBytes -= k.bytes;
            }
        }
    }
}
