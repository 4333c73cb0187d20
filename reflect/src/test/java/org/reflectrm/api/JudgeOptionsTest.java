package org.reflectrm.api;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/** Options are checked before a model opens, with the command line's messages, and map onto the engine's modes. */
class JudgeOptionsTest {
    @Test
    void validatedNamesTheBadValue() {
        JudgeOptions ok = JudgeOptions.defaults();
        assertSame(ok, ok.validated());
        assertTrue(assertThrows(BadInputException.class, () -> ok.withRollouts(1).validated())
                .getMessage().contains("--rollouts must be at least 2"));
        assertTrue(assertThrows(BadInputException.class, () -> ok.withTemperature(0).validated())
                .getMessage().contains("--temperature"));
        // Greedy needs neither several rollouts nor a temperature.
        ok.withMode(Mode.GREEDY).withRollouts(1).withTemperature(0).validated();
    }

    @Test
    void everyModeReachesTheEngineAsItself() {
        for (Mode m : Mode.values()) {
            assertTrue(JudgeOptions.defaults().withMode(m).engine().mode().name().equals(m.name()), m.label());
        }
    }
}
