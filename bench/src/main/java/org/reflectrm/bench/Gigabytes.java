package org.reflectrm.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A JMH counter of bytes moved, in gigabytes; JMH reports it per second, i.e. as GB/s (the
 * {@code :gbyte} secondary result). Each benchmark adds what one call reads.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Gigabytes {
    public double gbyte;

    @Setup(Level.Iteration)
    public void reset() {
        gbyte = 0;
    }
}
