package org.reflectrm.kernels.device;

/**
 * One sequence's F32 KV cache in a batched call: slot 0 of its keys at {@code kOff} of {@code k}
 * and of its values at {@code vOff} of {@code v} (element offsets), and how many slots it holds.
 */
public record KvSlots(DeviceBuffer k, long kOff, DeviceBuffer v, long vOff, int slots) {
}
