package org.reflectrm.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** The schedules against transformers' LambdaLR, including steps past the total. */
class LrScheduleTest {

    @Test
    void matchesTransformersSchedules() {
        JsonNode all = Fixture.load("schedules").root().get("schedules");
        assertEquals(7, all.size());
        for (JsonNode s : all) {
            double base = s.get("base_lr").asDouble();
            long warmup = s.path("warmup").asLong(0);
            long total = s.path("total").asLong(0);
            LrSchedule schedule = switch (s.get("kind").asText()) {
                case "constant" -> LrSchedule.constant(base);
                case "constant_with_warmup" -> LrSchedule.constantWithWarmup(base, warmup);
                case "cosine_with_warmup" -> new LrSchedule.Cosine(base, warmup, total,
                        s.path("num_cycles").asDouble(0.5));
                case "linear_with_warmup" -> LrSchedule.linearWithWarmup(base, warmup, total);
                default -> throw new IllegalStateException(s.toString());
            };
            JsonNode lrs = s.get("lrs");
            for (int step = 0; step < lrs.size(); step++) {
                assertEquals(lrs.get(step).asDouble(), schedule.lr(step), 1e-9, s + " step " + step);
            }
        }
    }

    @Test
    void warmupStartsAtZeroAndReachesTheBase() {
        LrSchedule s = LrSchedule.cosineWithWarmup(1e-3, 4, 10);
        assertEquals(0, s.lr(0));
        assertEquals(5e-4, s.lr(2), 1e-18);
        assertEquals(1e-3, s.lr(4));
        assertEquals(0, LrSchedule.linearWithWarmup(1e-3, 4, 10).lr(10));
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(-1));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linearWithWarmup(1e-3, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.constant(1e-3).lr(-1));
    }
}
