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
    REFLECT
}
