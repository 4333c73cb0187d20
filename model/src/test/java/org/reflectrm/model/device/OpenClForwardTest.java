package org.reflectrm.model.device;

import org.junit.jupiter.api.Assumptions;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.opencl.OpenClDevice;

/**
 * The device-resident forward on OpenCL (PoCL in CI). Skips visibly without an OpenCL device,
 * unless REFLECTRM_REQUIRE_OPENCL=1 (set by .ci/run) makes that a failure.
 */
class OpenClForwardTest extends DeviceForwardContract {
    @Override
    protected Device open() {
        if (OpenClDevice.list().isEmpty()) {
            String reason = "no OpenCL device (install an ICD, e.g. pocl-opencl-icd)";
            if ("1".equals(System.getenv("REFLECTRM_REQUIRE_OPENCL"))) {
                throw new AssertionError(reason + ", and REFLECTRM_REQUIRE_OPENCL=1");
            }
            Assumptions.assumeTrue(false, reason);
        }
        return OpenClDevice.open(false);
    }
}
