package org.reflectrm.kernels.device;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;
import org.reflectrm.kernels.cuda.CudaDevice;

/**
 * The CUDA device meets the contract, on the first GPU. Without an NVIDIA driver the class is
 * skipped (visibly), unless {@code REFLECTRM_REQUIRE_CUDA=1} (the device check sets it) makes
 * that a failure.
 */
class CudaDeviceTest extends RecordingDeviceContract {
    @Override
    protected Device open() {
        if (CudaDevice.list().isEmpty()) {
            String reason = "no NVIDIA driver: no CUDA device to test";
            if ("1".equals(System.getenv("REFLECTRM_REQUIRE_CUDA"))) {
                fail(reason + " (REFLECTRM_REQUIRE_CUDA=1)");
            }
            Assumptions.assumeTrue(false, reason);
        }
        return CudaDevice.open(0);
    }
}
