package org.reflectrm.kernels.device;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes a device has moved across the bus, counted at {@link Device#upload} and
 * {@link Device#download}: the one place data crosses, so the count is complete. A caller takes
 * a {@link #snapshot} before and after a step to see what that step moved (weights should move
 * once, when a model is loaded).
 */
public final class Transfers {
    private final AtomicLong uploaded = new AtomicLong();
    private final AtomicLong downloaded = new AtomicLong();

    /** Bytes moved up to some moment. */
    public record Count(long uploadedBytes, long downloadedBytes) {
        /** What was moved between {@code earlier} and this count. */
        public Count since(Count earlier) {
            return new Count(uploadedBytes - earlier.uploadedBytes, downloadedBytes - earlier.downloadedBytes);
        }
    }

    /** Adds an upload of {@code bytes}; device implementations call it. */
    public void countUpload(long bytes) {
        uploaded.addAndGet(bytes);
    }

    /** Adds a download of {@code bytes}; device implementations call it. */
    public void countDownload(long bytes) {
        downloaded.addAndGet(bytes);
    }

    public Count snapshot() {
        return new Count(uploaded.get(), downloaded.get());
    }
}
