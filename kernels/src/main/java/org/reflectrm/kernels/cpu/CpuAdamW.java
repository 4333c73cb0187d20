package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.device.AdamWStep;

/**
 * AdamW's element-wise update on the CPU, by {@link AdamWStep}'s arithmetic: torch's CPU kernels
 * operation by operation (the same float32 roundings and fused multiply-adds), so parameters agree
 * with torch to an ulp or so. The vector loop and the scalar tail do the same operations, so the
 * result does not depend on the lane count.
 */
public final class CpuAdamW {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CpuAdamW() {
    }

    /** Updates n parameters at element offset pOff, their gradients at gOff and moments at mOff / vOff. */
    public static void update(MemorySegment value, long pOff, MemorySegment grad, long gOff,
                              MemorySegment m, long mOff, MemorySegment v, long vOff, long n, AdamWStep s) {
        boolean small = s.smallLerp();
        float coeff = s.lerpCoefficient();
        float decay = s.decay(), beta2 = s.beta2(), c2 = s.oneMinusBeta2(), bc2Sqrt = s.bc2Sqrt();
        float eps = s.eps(), negStepSize = s.negStepSize();
        FloatVector coeffV = FloatVector.broadcast(F, coeff);
        long i = 0;
        long bound = n - n % F.length();
        for (; i < bound; i += F.length()) {
            long pb = (pOff + i) * Float.BYTES, gb = (gOff + i) * Float.BYTES;
            long mb = (mOff + i) * Float.BYTES, vb = (vOff + i) * Float.BYTES;
            FloatVector pv = FloatVector.fromMemorySegment(F, value, pb, NATIVE);
            FloatVector gv = FloatVector.fromMemorySegment(F, grad, gb, NATIVE);
            FloatVector mv = FloatVector.fromMemorySegment(F, m, mb, NATIVE);
            FloatVector vv = FloatVector.fromMemorySegment(F, v, vb, NATIVE);
            pv = pv.mul(decay);
            mv = gv.sub(mv).fma(coeffV, small ? mv : gv);
            vv = vv.mul(beta2).add(gv.mul(c2).mul(gv));                // addcmul: v + (c2*g)*g
            FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
            pv = pv.add(mv.mul(negStepSize).div(denom));               // addcdiv: p + (s*m)/denom
            pv.intoMemorySegment(value, pb, NATIVE);
            mv.intoMemorySegment(m, mb, NATIVE);
            vv.intoMemorySegment(v, vb, NATIVE);
        }
        for (; i < n; i++) {
            long pb = (pOff + i) * Float.BYTES, gb = (gOff + i) * Float.BYTES;
            long mb = (mOff + i) * Float.BYTES, vb = (vOff + i) * Float.BYTES;
            float pe = value.get(FLOAT, pb) * decay;
            float g = grad.get(FLOAT, gb);
            float me = m.get(FLOAT, mb);
            me = Math.fma(g - me, coeff, small ? me : g);
            float ve = v.get(FLOAT, vb) * beta2 + c2 * g * g;
            float denom = (float) Math.sqrt(ve) / bc2Sqrt + eps;
            pe = pe + negStepSize * me / denom;
            value.set(FLOAT, pb, pe);
            m.set(FLOAT, mb, me);
            v.set(FLOAT, vb, ve);
        }
    }
}
