package org.reflectrm.kernels.opencl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.device.DeviceException;
import org.reflectrm.kernels.device.OpenClDeviceTest;

/** Program builds: a failing one reports the compiler's log; a good one yields its kernels. */
class OpenClProgramTest {

    @Test
    void aBuildFailureCarriesTheBuildLog() {
        try (OpenClDevice device = OpenClDeviceTest.openOrSkip()) {
            String broken = "__kernel void broken(__global float* x) { x[0] = undeclared_name; }";
            DeviceException e = assertThrows(DeviceException.class, () -> device.build("broken", broken, ""));
            String message = e.getMessage();
            assertTrue(message.contains("CL_BUILD_PROGRAM_FAILURE"), message);
            assertTrue(message.contains("build log"), message);
            assertTrue(message.contains("undeclared_name"), message);
        }
    }

    @Test
    void aGoodBuildYieldsItsKernels() {
        try (OpenClDevice device = OpenClDeviceTest.openOrSkip();
             OpenClProgram p = device.build("ok", "__kernel void ok(__global float* x) { x[0] = 1.0f; }", "")) {
            assertTrue(p.kernel("ok").name().endsWith("ok"));
            DeviceException e = assertThrows(DeviceException.class, () -> p.kernel("missing"));
            assertTrue(e.getMessage().contains("CL_INVALID_KERNEL_NAME"), e.getMessage());
        }
    }
}
