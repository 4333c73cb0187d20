package org.reflectrm.model.device;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.qwen3.LayerWeights;
import org.reflectrm.model.qwen3.Qwen3Weights;
import org.reflectrm.tensor.Tensor;

/**
 * A Qwen3 checkpoint's weights copied to a device once, in their stored dtypes. Projections that
 * read the same input are concatenated so they run as one launch: q, k and v into one
 * {@code [qDim + 2·kvDim, H]} matrix, gate and up into one {@code [2·I, H]} matrix.
 */
final class DeviceWeights implements AutoCloseable {
    /** A device copy of one tensor (or of several stacked along the first axis). */
    record Weight(DeviceBuffer buffer, DType type) {
    }

    record Layer(Weight inputNorm, Weight qkv, Weight qNorm, Weight kNorm, Weight oProj, Weight postNorm,
                 Weight gateUp, Weight downProj) {
    }

    private final List<DeviceBuffer> owned = new ArrayList<>();
    final Weight embedTokens;
    final List<Layer> layers = new ArrayList<>();
    final Weight finalNorm;
    final Weight lmHead;
    final long bytes;

    DeviceWeights(Device device, Qwen3Weights weights) {
        try {
            embedTokens = upload(device, "model.embed_tokens.weight", weights.embedTokens());
            for (int i = 0; i < weights.layers().size(); i++) {
                LayerWeights l = weights.layers().get(i);
                String p = "model.layers." + i + ".";
                sameType(p + "self_attn.q_norm/k_norm", l.qNorm(), l.kNorm());
                layers.add(new Layer(
                        upload(device, p + "input_layernorm", l.inputNorm()),
                        upload(device, p + "self_attn.q_proj/k_proj/v_proj", l.qProj(), l.kProj(), l.vProj()),
                        upload(device, p + "self_attn.q_norm", l.qNorm()),
                        upload(device, p + "self_attn.k_norm", l.kNorm()),
                        upload(device, p + "self_attn.o_proj", l.oProj()),
                        upload(device, p + "post_attention_layernorm", l.postNorm()),
                        upload(device, p + "mlp.gate_proj/up_proj", l.gateProj(), l.upProj()),
                        upload(device, p + "mlp.down_proj", l.downProj())));
            }
            finalNorm = upload(device, "model.norm.weight", weights.finalNorm());
            // A tied head is the embedding table itself: upload it once.
            lmHead = weights.lmHead() == weights.embedTokens() ? embedTokens
                    : upload(device, "lm_head.weight", weights.lmHead());
            long total = 0;
            for (DeviceBuffer b : owned) {
                total += b.bytes();
            }
            bytes = total;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void sameType(String what, Tensor... parts) {
        for (Tensor t : parts) {
            if (t.dtype() != parts[0].dtype()) {
                throw new BadInputException(what + ": device offload needs these tensors in one dtype, found "
                        + parts[0].dtype() + " and " + t.dtype());
            }
        }
    }

    /** Uploads {@code parts} stacked along their first axis into one buffer. */
    private Weight upload(Device device, String what, Tensor... parts) {
        sameType(what, parts);
        DType type = parts[0].dtype();
        if (!type.isGpuComputeType()) {
            throw new BadInputException(what + ": dtype " + type + " cannot be computed with on a GPU (need F32, F16 or BF16)");
        }
        long total = 0;
        for (Tensor t : parts) {
            total += t.numel() * type.byteSize();
        }
        DeviceBuffer buffer = device.allocate(total);
        owned.add(buffer);
        long at = 0;
        for (Tensor t : parts) {
            long n = t.numel() * type.byteSize();
            MemorySegment src = t.segment().asSlice(t.offset() * type.byteSize(), n);
            device.upload(src, buffer, at);
            at += n;
        }
        return new Weight(buffer, type);
    }

    @Override
    public void close() {
        for (DeviceBuffer b : owned) {
            b.close();
        }
        owned.clear();
    }
}
