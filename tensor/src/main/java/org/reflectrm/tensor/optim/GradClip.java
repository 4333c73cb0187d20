package org.reflectrm.tensor.optim;

import java.util.ArrayList;
import java.util.List;
import org.reflectrm.kernels.device.Device;
import org.reflectrm.kernels.device.DeviceBuffer;

/**
 * Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_(norm_type=2), on
 * the gradients' device: the sum of squares and the scaling run there, and only one double per
 * parameter (a few block sums on a GPU) comes back.
 */
public final class GradClip {

    private GradClip() {
    }

    /**
     * @param totalNorm the L2 norm of all gradients together, before clipping; NaN or infinite
     *                  when some gradient is
     * @param scale     what the gradients were multiplied by (1 when they were left alone)
     */
    public record Result(double totalNorm, double scale) {
        /** False when some gradient is NaN or infinite: the trainer should skip this step. */
        public boolean finite() {
            return Double.isFinite(totalNorm);
        }

        public boolean clipped() {
            return scale < 1;
        }
    }

    /** {@link #globalNorm(Device, List)} of gradients in host memory. */
    public static double globalNorm(List<OptimParam> params) {
        return globalNorm(HostParams.device(), params);
    }

    /**
     * The L2 norm of all gradients viewed as one vector: each parameter's sum of squares in
     * {@link Device#sumOfSquares}' fixed order (on the host, every square in double in element
     * order), added in double in parameter order. Deterministic on every device.
     */
    public static double globalNorm(Device device, List<OptimParam> params) {
        long[] offs = new long[params.size()], sizes = new long[params.size()];
        List<DeviceBuffer> grads = new ArrayList<>(params.size());
        for (int i = 0; i < params.size(); i++) {
            OptimParam p = params.get(i);
            grads.add(p.grad());
            offs[i] = p.gradOffset();
            sizes[i] = p.size();
        }
        double sum = 0;
        for (double s : device.sumsOfSquares(grads, offs, sizes)) {   // one wait for the device
            sum += s;
        }
        return Math.sqrt(sum);
    }

    /** {@link #clipByGlobalNorm(Device, List, double)} of gradients in host memory. */
    public static Result clipByGlobalNorm(List<OptimParam> params, double maxNorm) {
        return clipByGlobalNorm(HostParams.device(), params, maxNorm);
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (total + 1e-6))}, as torch does (the 1e-6
     * keeps the clipped norm just under {@code maxNorm}). Unlike torch, a non-finite norm leaves
     * the gradients untouched (torch would multiply them by NaN or 0) and is reported through
     * {@link Result#finite()}, so the caller can skip the step.
     */
    public static Result clipByGlobalNorm(Device device, List<OptimParam> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("max norm " + maxNorm + " must be positive");
        }
        double total = globalNorm(device, params);
        if (!Double.isFinite(total)) {
            return new Result(total, 1);
        }
        double coef = maxNorm / (total + 1e-6);
        if (coef >= 1) {
            return new Result(total, 1);
        }
        float scale = (float) coef;   // torch multiplies float32 gradients by a float32 coefficient
        for (OptimParam p : params) {
            device.scale(p.grad(), p.gradOffset(), scale, p.grad(), p.gradOffset(), p.size());
        }
        return new Result(total, scale);
    }
}
