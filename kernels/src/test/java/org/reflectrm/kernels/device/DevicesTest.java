package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cuda.CudaDevice;

/** The {@code --device} values: the kinds, and {@code cuda:N} for a GPU by ordinal. */
class DevicesTest {
    @Test
    void knownKinds() {
        for (String k : new String[] {"cpu", "opencl", "cuda", "auto", "CUDA", "cuda:0", "cuda:7", "cuda:12"}) {
            assertTrue(Devices.isKnown(k), k);
        }
        for (String k : new String[] {"tpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1.5", "cuda:99999", "opencl:1", "cuda 1"}) {
            assertFalse(Devices.isKnown(k), k);
        }
        assertTrue(Devices.open("cpu").isEmpty());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Devices.open("cuda:x")).getMessage().contains("cuda:N"));
    }

    @Test
    void cudaByOrdinalOpensThatGpuOrSaysWhyNot() {
        int gpus = CudaDevice.list().size();
        if (gpus == 0) {
            assertThrows(DeviceException.class, () -> Devices.open("cuda:0"));
            return;
        }
        try (Device d = Devices.open("cuda:" + (gpus - 1)).orElseThrow()) {
            assertTrue(d.kind().equals("cuda"));
        }
        assertThrows(DeviceException.class, () -> Devices.open("cuda:" + gpus));
    }
}
