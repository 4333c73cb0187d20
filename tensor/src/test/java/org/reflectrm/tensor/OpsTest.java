package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cpu.CpuBackend;

/** Shape handling of the ops facade; the kernels' numerics are tested in the kernels module. */
class OpsTest {

    @Test
    void linearUsesTheHfWeightLayout() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 16)) {
            Ops ops = new Ops(scratch);
            Tensor x = ops.fromArray(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);          // [2, in=3]
            Tensor w = ops.fromArray(new float[] {1, 0, 0, 0, 1, 1}, 2, 3);          // [out=2, in=3]
            assertArrayEquals(new float[] {1, 5, 4, 11}, ops.linear(x, w).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> ops.linear(x, ops.fromArray(new float[4], 2, 2)));
        }
    }

    @Test
    void embeddingRejectsIdsOutsideTheTable() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 16)) {
            Ops ops = new Ops(scratch);
            Tensor table = ops.fromArray(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
            assertArrayEquals(new float[] {5, 6, 1, 2}, ops.embedding(table, new int[] {2, 0}).toFloatArray());
            assertThrows(IllegalArgumentException.class, () -> ops.embedding(table, new int[] {3}));
            assertThrows(IllegalArgumentException.class, () -> ops.embedding(table, new int[] {-1}));
        }
    }

    @Test
    void elementwiseOpsCheckShapes() {
        try (CpuBackend backend = new CpuBackend(1); ScratchAllocator scratch = new ScratchAllocator(backend, 1 << 16)) {
            Ops ops = new Ops(scratch);
            Tensor a = ops.fromArray(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor b = ops.fromArray(new float[] {1, 2, 3, 4}, 4);
            assertThrows(IllegalArgumentException.class, () -> ops.add(a, b));
            assertArrayEquals(new float[] {2, 4, 6, 8}, ops.add(a, a).toFloatArray());
        }
    }
}
