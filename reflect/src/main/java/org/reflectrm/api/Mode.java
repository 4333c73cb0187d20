package org.reflectrm.api;

/** How a judgment is made. */
public enum Mode {
    /** One greedy analysis. */
    GREEDY,
    /** The majority of N sampled analyses. */
    VOTE,
    /**
     * ReflectRM's two-stage self-reflection: N sampled rollouts, the most confident as anchor,
     * N−1 greedy reflections comparing it with each other rollout, and the winners' majority.
     */
    REFLECT;

    /** The name records and the command line use: {@code greedy}, {@code vote} or {@code reflect}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
