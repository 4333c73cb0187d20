package org.reflectrm.kernels.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The {@code void** kernelParams} of {@code cuLaunchKernel}: one 8-byte slot per argument and an
 * array of pointers to the slots, both allocated once. The driver copies the values during the
 * launch call, so the same slots serve every launch: decode issues hundreds of launches per
 * token and none allocates. Not thread-safe (nor is the device it belongs to).
 */
final class KernelArgs {
    static final int MAX = 24;
    private static final long SLOT = 8;

    private final MemorySegment values;
    private final MemorySegment pointers;
    private final char[] types = new char[MAX];
    private int count;

    KernelArgs(Arena arena) {
        values = arena.allocate(SLOT * MAX, 16);
        pointers = arena.allocate(ADDRESS, MAX);
        for (int i = 0; i < MAX; i++) {
            pointers.setAtIndex(ADDRESS, i, values.asSlice(SLOT * i, SLOT));
        }
    }

    /** Starts a new argument list. */
    KernelArgs reset() {
        count = 0;
        return this;
    }

    /** A device pointer ({@code T*}, 8 bytes). */
    KernelArgs ptr(long address) {
        values.set(JAVA_LONG, slot('p'), address);
        return this;
    }

    /** A {@code long long}. */
    KernelArgs i64(long v) {
        values.set(JAVA_LONG, slot('l'), v);
        return this;
    }

    /** An {@code int} (the kernel reads the slot's first 4 bytes). */
    KernelArgs i32(int v) {
        values.set(JAVA_INT, slot('i'), v);
        return this;
    }

    /** A {@code float}. */
    KernelArgs f32(float v) {
        values.set(JAVA_FLOAT, slot('f'), v);
        return this;
    }

    private long slot(char type) {
        if (count == MAX) {
            throw new IllegalStateException("more than " + MAX + " kernel arguments");
        }
        types[count] = type;
        return SLOT * count++;
    }

    /** Fails unless the packed arguments are exactly the kernel's parameter list. */
    void check(Kernel kernel) {
        String sig = kernel.signature;
        boolean same = sig.length() == count;
        for (int i = 0; same && i < count; i++) {
            same = sig.charAt(i) == types[i];
        }
        if (!same) {
            throw new IllegalStateException("kernel " + kernel.symbol + " takes (" + sig + ") but was given ("
                    + new String(types, 0, count) + ")");
        }
    }

    /** The {@code void**} to pass to cuLaunchKernel. */
    MemorySegment pointers() {
        return pointers;
    }

    int count() {
        return count;
    }

    char type(int i) {
        return types[i];
    }

    /** The raw 8-byte slot of argument i (pointers, longs; ints and floats sit in its low half). */
    long raw(int i) {
        return values.get(JAVA_LONG, SLOT * i);
    }

    int intAt(int i) {
        return values.get(JAVA_INT, SLOT * i);
    }
}
