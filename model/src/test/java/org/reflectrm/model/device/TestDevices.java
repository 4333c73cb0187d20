package org.reflectrm.model.device;

import org.junit.jupiter.api.Assumptions;
import org.reflectrm.kernels.cuda.CudaDevice;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.opencl.OpenClDevice;

/**
 * The GPU devices tests run on. Each skips visibly without its driver, unless the environment
 * makes that a failure: REFLECTRM_REQUIRE_OPENCL=1 (set by .ci/run, where PoCL is installed) or
 * REFLECTRM_REQUIRE_CUDA=1 (set by the device check).
 */
public final class TestDevices {
    private TestDevices() {
    }

    public static Device openCl() {
        if (OpenClDevice.list().isEmpty()) {
            skipOrFail("no OpenCL device (install an ICD, e.g. pocl-opencl-icd)", "REFLECTRM_REQUIRE_OPENCL");
        }
        return OpenClDevice.open(false);
    }

    public static Device cuda() {
        if (CudaDevice.list().isEmpty()) {
            skipOrFail("no NVIDIA driver or GPU (libcuda.so.1)", "REFLECTRM_REQUIRE_CUDA");
        }
        return CudaDevice.open(0);
    }

    private static void skipOrFail(String reason, String requiredBy) {
        if ("1".equals(System.getenv(requiredBy))) {
            throw new AssertionError(reason + ", and " + requiredBy + "=1");
        }
        Assumptions.assumeTrue(false, reason);
    }
}
