package org.reflectrm.kernels.device;

/**
 * A device could not be opened or failed while computing: a missing driver, an API error code
 * (named, not just numbered), or a kernel build log. Messages are meant for the user.
 */
public class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
