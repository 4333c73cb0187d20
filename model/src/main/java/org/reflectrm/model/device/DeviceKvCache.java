package org.reflectrm.model.device;

import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.model.generate.LanguageModel;
import org.reflectrm.model.qwen3.Qwen3Config;

/**
 * One sequence's keys and values on the device: a single F32 buffer laid out
 * {@code [layer][k|v][capacity][kvHeads·headDim]}, so a sequence costs one allocation.
 */
final class DeviceKvCache implements LanguageModel.Cache {
    private final DeviceBuffer buffer;
    private final int layers;
    private final int capacity;
    private final int kvDim;
    private int length;

    DeviceKvCache(Device device, Qwen3Config config, int capacity) {
        this.layers = config.numHiddenLayers();
        this.capacity = capacity;
        this.kvDim = config.kvDim();
        this.buffer = device.allocate(4L * layers * 2 * capacity * kvDim);
    }

    DeviceBuffer buffer() {
        return buffer;
    }

    /** Element offset of the key slot of {@code position} in {@code layer}. */
    long keys(int layer, int position) {
        return ((long) layer * 2 * capacity + position) * kvDim;
    }

    /** Element offset of the value slot of {@code position} in {@code layer}. */
    long values(int layer, int position) {
        return ((long) (layer * 2 + 1) * capacity + position) * kvDim;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    void advance(int n) {
        if (length + n > capacity) {
            throw new IllegalStateException("KV cache overflow: " + (length + n) + " > " + capacity);
        }
        length += n;
    }

    /** Makes this cache hold the first {@code n} positions of {@code src}. */
    void copyPrefixFrom(Device device, DeviceKvCache src, int n) {
        if (n > src.length || n > capacity || src.layers != layers || src.kvDim != kvDim) {
            throw new IllegalArgumentException("cannot copy " + n + " positions of a cache of " + src.length
                    + " into one of capacity " + capacity);
        }
        for (int layer = 0; layer < layers; layer++) {
            device.copy(src.buffer, src.keys(layer, 0), buffer, keys(layer, 0), (long) n * kvDim);
            device.copy(src.buffer, src.values(layer, 0), buffer, values(layer, 0), (long) n * kvDim);
        }
        length = n;
    }

    @Override
    public void close() {
        buffer.close();
    }
}
