package org.reflectrm.model.device;

import java.util.HashMap;
import java.util.Map;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * Named activation buffers on the device that grow to the largest size asked for and are then
 * reused, so steady decoding allocates nothing. Growing waits for queued work first, since a
 * kernel in flight may still read the old buffer.
 */
final class DeviceScratch implements AutoCloseable {
    private final Device device;
    private final Map<String, DeviceBuffer> buffers = new HashMap<>();
    /** Bumped on every allocation: launches recorded before it may use a buffer that is gone. */
    private long generation;

    DeviceScratch(Device device) {
        this.device = device;
    }

    /** A buffer of at least {@code bytes} bytes; its contents are whatever was last written. */
    DeviceBuffer get(String name, long bytes) {
        DeviceBuffer b = buffers.get(name);
        if (b != null && b.bytes() >= bytes) {
            return b;
        }
        if (b != null) {
            device.synchronize();
            b.close();
            buffers.remove(name);
        }
        // Grow by half again so a slowly growing batch does not reallocate every step.
        DeviceBuffer fresh = device.allocate(Math.max(bytes, b == null ? 0 : b.bytes() + b.bytes() / 2));
        generation++;
        buffers.put(name, fresh);
        return fresh;
    }

    long generation() {
        return generation;
    }

    long bytes() {
        long total = 0;
        for (DeviceBuffer b : buffers.values()) {
            total += b.bytes();
        }
        return total;
    }

    @Override
    public void close() {
        device.synchronize();
        buffers.values().forEach(DeviceBuffer::close);
        buffers.clear();
    }
}
