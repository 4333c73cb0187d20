package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.cpu.CpuBackend;

/** The host device meets the contract (it defines it: this guards the contract itself). */
class HostDeviceTest extends RecordingDeviceContract {
    @Override
    protected Device open() {
        return new HostDevice(new CpuBackend(1));
    }

    /** Only the host has attention over a shared prefix cache; it is the backend's, on wrapped memory. */
    @Test
    void attentionOverASharedPrefixIsTheBackends() {
        int prefix = 5, own = 4, heads = 4, kvHeads = 2, headDim = 32, tokens = 3;
        AttentionShape shape = new AttentionShape(tokens, prefix + own - tokens, heads, kvHeads, headDim, 0.17f);
        MemorySegment q = host(DType.F32, gaussian(tokens * heads * headDim));
        MemorySegment pk = host(DType.F32, gaussian(prefix * kvHeads * headDim));
        MemorySegment pv = host(DType.F32, gaussian(prefix * kvHeads * headDim));
        MemorySegment k = host(DType.F32, gaussian(own * kvHeads * headDim));
        MemorySegment v = host(DType.F32, gaussian(own * kvHeads * headDim));
        MemorySegment want = host(DType.F32, new float[tokens * heads * headDim]);
        MemorySegment got = host(DType.F32, new float[tokens * heads * headDim]);
        cpu.attention(q, PAD, pk, PAD, pv, PAD, prefix, k, PAD, v, PAD, want, PAD, shape);
        device.attention(HostDevice.wrap(q), PAD, HostDevice.wrap(pk), PAD, HostDevice.wrap(pv), PAD, prefix,
                HostDevice.wrap(k), PAD, HostDevice.wrap(v), PAD, HostDevice.wrap(got), PAD, shape);
        assertArrayEquals(readHost(want, tokens * heads * headDim), readHost(got, tokens * heads * headDim));
    }
}
