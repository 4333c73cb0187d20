package org.reflectrm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A task judges on the GPU the cluster gave it. */
class JudgesTest {
    @Test
    void cudaAndAutoTakeTheTasksGpu() {
        assertEquals("cuda:3", Judges.deviceFor("cuda", new String[] {"3", "4"}));
        assertEquals("cuda:0", Judges.deviceFor("auto", new String[] {"0"}));
        assertEquals("cuda", Judges.deviceFor("cuda", null), "no GPU scheduling: the first GPU");
        assertEquals("cuda", Judges.deviceFor("cuda", new String[0]));
        assertEquals("cpu", Judges.deviceFor("cpu", new String[] {"1"}), "an explicit CPU stays");
        assertEquals("opencl", Judges.deviceFor("opencl", new String[] {"1"}));
        assertEquals("cuda", Judges.deviceFor("cuda", new String[] {"GPU-8f2c"}), "not an ordinal: left to the driver");
    }
}
