package org.reflectrm.kernels.device;

/**
 * Launches recorded once by a {@link RecordingDevice} and replayed with one call: every replay
 * runs the same kernels with the same arguments on the same buffers, so the host pays for one
 * launch per step instead of one per kernel. Close it before any buffer it uses is freed.
 */
public interface DeviceGraph extends AutoCloseable {

    /**
     * False once closed, or once the device replaced memory the recording uses internally (a
     * scratch buffer that had to grow): record again then.
     */
    boolean isValid();

    /** Queues one replay, ordered like any kernel. */
    void launch();

    @Override
    void close();
}
