package org.reflectrm.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

class GradClipTest {

    private static OptimParam param(String name, float... grad) {
        return OptimParam.of(name, MemorySegment.ofArray(new float[grad.length]), MemorySegment.ofArray(grad.clone()));
    }

    private static float[] grad(OptimParam p) {
        return p.gradSlice().toArray(ValueLayout.JAVA_FLOAT);
    }

    @Test
    void normIsOverAllGradientsTogether() {
        List<OptimParam> ps = List.of(param("a", 3), param("b", 0, 4));
        assertEquals(5, GradClip.globalNorm(ps));
        GradClip.Result r = GradClip.clipByGlobalNorm(ps, 10);
        assertEquals(5, r.totalNorm());
        assertTrue(r.finite());
        assertFalse(r.clipped());
        assertArrayEquals(new float[] {3}, grad(ps.get(0)));   // below the max: untouched
    }

    @Test
    void clipsToJustUnderTheMaxNorm() {
        List<OptimParam> ps = List.of(param("a", 3), param("b", 0, 4));
        GradClip.Result r = GradClip.clipByGlobalNorm(ps, 1);
        assertTrue(r.clipped());
        assertEquals(1 / (5 + 1e-6), r.scale(), 1e-7);
        assertEquals(1, GradClip.globalNorm(ps), 1e-6);
        assertArrayEquals(new float[] {(float) (3 / (5 + 1e-6))}, grad(ps.get(0)));
    }

    @Test
    void nonFiniteNormIsReportedAndLeavesGradientsAlone() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            List<OptimParam> ps = List.of(param("a", 3, 100), param("b", bad, 4));
            GradClip.Result r = GradClip.clipByGlobalNorm(ps, 1);
            assertFalse(r.finite(), "norm with " + bad);
            assertFalse(r.clipped());
            assertArrayEquals(new float[] {3, 100}, grad(ps.get(0)));
        }
        // Large but finite floats square without overflow in double.
        assertTrue(GradClip.clipByGlobalNorm(List.of(param("a", Float.MAX_VALUE, Float.MAX_VALUE)), 1).finite());
    }

    @Test
    void rejectsANonPositiveMaxNorm() {
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipByGlobalNorm(List.of(param("a", 1)), 0));
    }
}
