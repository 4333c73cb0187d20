package org.reflectrm.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.DType;

class TensorTest {

    @Test
    void viewsShareMemory() {
        float[] values = new float[12];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        Tensor t = new Tensor(MemorySegment.ofArray(values), 0, DType.F32, 3, 4);
        Tensor middle = t.rows(1, 2);
        assertArrayEquals(new int[] {1, 4}, middle.shape());
        assertArrayEquals(new float[] {4, 5, 6, 7}, middle.toFloatArray());
        middle.setFloat(0, 40f);
        assertEquals(40f, values[4], "a view writes through to the heap array");
        Tensor flat = t.reshape(2, 6);
        assertEquals(6, flat.dim(-1));
        assertEquals(2, flat.rows());
        assertEquals(40f, flat.getFloat(4));
    }

    @Test
    void widensStoredHalfTypes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) 0x3fc0);                 // BF16 1.5
            s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 1, (short) 0xc000);                 // BF16 -2
            s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 2, Float.floatToFloat16(0.333f));   // F16
            s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 3, Float.floatToFloat16(-7f));
            assertArrayEquals(new float[] {1.5f, -2f}, new Tensor(s, 0, DType.BF16, 2).toFloatArray());
            assertArrayEquals(new float[] {Float.float16ToFloat(Float.floatToFloat16(0.333f)), -7f},
                    new Tensor(s, 2, DType.F16, 2).toFloatArray());
        }
    }

    @Test
    void rejectsShapesThatDoNotFit() {
        MemorySegment s = MemorySegment.ofArray(new float[6]);
        assertThrows(IllegalArgumentException.class, () -> new Tensor(s, 0, DType.F32, 2, 4));
        assertThrows(IllegalArgumentException.class, () -> new Tensor(s, 1, DType.F32, 2, 3));
        Tensor t = new Tensor(s, 0, DType.F32, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> t.rows(1, 3));
        assertThrows(UnsupportedOperationException.class, () -> new Tensor(s, 0, DType.BF16, 2).setFloat(0, 1f));
    }
}
