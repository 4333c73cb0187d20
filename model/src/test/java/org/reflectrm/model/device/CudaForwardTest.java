package org.reflectrm.model.device;

import org.junit.jupiter.api.Assumptions;
import org.reflectrm.kernels.cuda.CudaDevice;
import org.reflectrm.kernels.device.Device;

/**
 * The device-resident forward on an NVIDIA GPU through CUDA. Skips visibly without a driver,
 * unless REFLECTRM_REQUIRE_CUDA=1 (set by the device check) makes that a failure.
 */
class CudaForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        if (CudaDevice.list().isEmpty()) {
            String reason = "no NVIDIA driver or GPU (libcuda.so.1)";
            if ("1".equals(System.getenv("REFLECTRM_REQUIRE_CUDA"))) {
                throw new AssertionError(reason + ", and REFLECTRM_REQUIRE_CUDA=1");
            }
            Assumptions.assumeTrue(false, reason);
        }
        return CudaDevice.open(0);
    }
}
