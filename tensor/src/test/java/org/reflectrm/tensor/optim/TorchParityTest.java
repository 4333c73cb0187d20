package org.reflectrm.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each optimizer, schedule and clip against torch + transformers, step by step. */
class TorchParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"adamw_cosine_clip", "adamw_linear", "sgd_momentum"})
    void matchesTorchAfterEveryStep(String name) {
        Fixture fx = Fixture.load(name);
        LrSchedule schedule = fx.schedule();
        try (Arena arena = Arena.ofConfined()) {
            List<OptimParam> params = fx.params(arena);
            try (Optimizer opt = fx.optimizer(params)) {
                for (int k = 0; k < fx.steps(); k++) {
                    fx.setGrads(params, k);
                    double norm = fx.maxGradNorm() > 0
                            ? GradClip.clipByGlobalNorm(params, fx.maxGradNorm()).totalNorm()
                            : GradClip.globalNorm(params);
                    assertEquals(fx.gradNorm(k), norm, 1e-6 * fx.gradNorm(k), name + " step " + k + " grad norm");
                    double lr = schedule.lr(k);
                    assertEquals(fx.lr(k), lr, 1e-9, name + " step " + k + " lr");
                    opt.step(lr);
                    assertEquals(k + 1, opt.stepCount());
                    for (OptimParam p : params) {
                        float[] actual = p.valueSlice().toArray(ValueLayout.JAVA_FLOAT);
                        assertClose(fx.paramAfter(k, p.name()), actual, name + " step " + k + " " + p.name());
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"adamw_cosine_clip", "adamw_linear"})
    void clippingHappensOnlyAboveTheMaxNorm(String name) {
        // Sanity of the fixture itself: the steps must exercise both sides of the clip.
        Fixture fx = Fixture.load(name);
        boolean below = false, above = false;
        for (int k = 0; k < fx.steps(); k++) {
            below |= fx.gradNorm(k) < 1;
            above |= fx.gradNorm(k) > 1;
        }
        assertTrue(below && above, "the fixture's gradient norms straddle 1.0");
    }

    /** Within 1e-6 relative or 1e-7 absolute, element by element. */
    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i], d = Math.abs(a - e);
            if (!(d <= 1e-7 || d <= 1e-6 * Math.abs(e))) {
                fail(what + "[" + i + "]: expected " + e + ", got " + a);
            }
        }
    }
}
