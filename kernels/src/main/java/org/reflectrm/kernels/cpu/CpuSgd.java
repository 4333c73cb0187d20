package org.reflectrm.kernels.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.reflectrm.kernels.device.SgdStep;

/**
 * One SGD step on host memory, by {@link SgdStep}'s arithmetic: torch's CPU kernels fuse
 * {@code a + alpha·b} into one fma, and so does this; the momentum update is a product and a sum.
 * The optimizer and the host device share it, so a GPU kernel can be checked against it bit for bit.
 */
public final class CpuSgd {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private CpuSgd() {
    }

    /**
     * Updates n F32 values at element {@code valueOff} of {@code value} from their gradient, and
     * the momentum buffer {@code buf} (null without momentum).
     */
    public static void update(MemorySegment value, long valueOff, MemorySegment grad, long gradOff,
                              MemorySegment buf, long bufOff, long n, SgdStep step) {
        boolean momentum = buf != null && step.hasMomentum();
        float mom = step.momentum();
        FloatVector wdV = FloatVector.broadcast(F, step.weightDecay()), negLrV = FloatVector.broadcast(F, step.negLr());
        long pOff = valueOff * Float.BYTES, gOff = gradOff * Float.BYTES, bOff = bufOff * Float.BYTES;
        long i = 0;
        long bound = n - n % F.length();
        for (; i < bound; i += F.length()) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = bOff + i * Float.BYTES;
            FloatVector pv = FloatVector.fromMemorySegment(F, value, pb, NATIVE);
            FloatVector gv = FloatVector.fromMemorySegment(F, grad, gb, NATIVE);
            FloatVector d = pv.fma(wdV, gv);                             // grad.add(param, alpha=wd)
            if (momentum) {
                if (!step.first()) {
                    d = FloatVector.fromMemorySegment(F, buf, sb, NATIVE).mul(mom).add(d);
                }
                d.intoMemorySegment(buf, sb, NATIVE);
            }
            pv = d.fma(negLrV, pv);                                      // param.add_(d, alpha=-lr)
            pv.intoMemorySegment(value, pb, NATIVE);
        }
        for (; i < n; i++) {
            long pb = pOff + i * Float.BYTES, gb = gOff + i * Float.BYTES, sb = bOff + i * Float.BYTES;
            float pe = value.get(FLOAT, pb);
            float d = Math.fma(pe, step.weightDecay(), grad.get(FLOAT, gb));
            if (momentum) {
                if (!step.first()) {
                    d = buf.get(FLOAT, sb) * mom + d;
                }
                buf.set(FLOAT, sb, d);
            }
            value.set(FLOAT, pb, Math.fma(d, step.negLr(), pe));
        }
    }
}
