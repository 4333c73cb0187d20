package org.reflectrm.kernels.cuda;

import org.reflectrm.kernels.device.DeviceException;

/** Turns a failed driver call into a {@link DeviceException} that names the call and the error. */
final class CudaErrors {
    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    private static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
    private static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    private static final int CUDA_ERROR_ILLEGAL_ADDRESS = 700;
    private static final int CUDA_ERROR_LAUNCH_FAILED = 719;
    private static final int CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
    private static final int CUDA_ERROR_INVALID_PTX = 218;

    private CudaErrors() {
    }

    /** The exception for {@code call} returning {@code result}, whose name the driver gave as {@code name}. */
    static DeviceException failure(String call, int result, String name) {
        String hint = hint(result);
        return new DeviceException("CUDA " + call + " failed: " + name + " (" + result + ")"
                + (hint.isEmpty() ? "" : "; " + hint));
    }

    /** What the user can do about the common errors. */
    private static String hint(int result) {
        return switch (result) {
            case CUDA_ERROR_NO_DEVICE -> "the NVIDIA driver found no CUDA device";
            case CUDA_ERROR_INSUFFICIENT_DRIVER, CUDA_ERROR_UNSUPPORTED_PTX_VERSION ->
                    "the NVIDIA driver is older than the kernels' PTX needs (a CUDA 13 driver, 580 or newer)";
            case CUDA_ERROR_OUT_OF_MEMORY -> "the GPU's memory is full";
            case CUDA_ERROR_ILLEGAL_ADDRESS, CUDA_ERROR_LAUNCH_FAILED ->
                    "a kernel queued earlier failed; the device must be closed and reopened";
            case CUDA_ERROR_INVALID_PTX -> "the driver could not compile the kernels' PTX";
            default -> "";
        };
    }
}
