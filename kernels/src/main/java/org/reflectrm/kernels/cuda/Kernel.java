package org.reflectrm.kernels.cuda;

import java.util.Arrays;
import java.util.List;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.device.SumOfSquares;

/**
 * Every entry point of {@code reflectrm_kernels.cu} that the Java side launches, with its
 * parameter list and block size. The driver cannot check what a launch passes, so the
 * signature is checked twice: against the PTX by CudaPtxTest, and against the packed arguments at
 * every launch ({@link KernelArgs#check}).
 *
 * <p>Signature letters, one per parameter: {@code p} a device pointer, {@code l} a
 * {@code long long} (element offsets, counts), {@code i} an {@code int}, {@code f} a
 * {@code float}.
 */
enum Kernel {
    LINEAR_GEMV_F32("linear_gemv_f32", Sig.LINEAR, 256),
    LINEAR_GEMV_BF16("linear_gemv_bf16", Sig.LINEAR, 256),
    LINEAR_GEMV_F16("linear_gemv_f16", Sig.LINEAR, 256),
    RMS_LINEAR_GEMV_F32("rms_linear_gemv_f32", Sig.LINEAR, 256),
    RMS_LINEAR_GEMV_BF16("rms_linear_gemv_bf16", Sig.LINEAR, 256),
    RMS_LINEAR_GEMV_F16("rms_linear_gemv_f16", Sig.LINEAR, 256),
    GATE_UP_GEMV_F32("gate_up_gemv_f32", Sig.LINEAR, 256),
    GATE_UP_GEMV_BF16("gate_up_gemv_bf16", Sig.LINEAR, 256),
    GATE_UP_GEMV_F16("gate_up_gemv_f16", Sig.LINEAR, 256),
    LINEAR_GEMM_F32("linear_gemm_f32", Sig.LINEAR, 256),
    LINEAR_GEMM_BF16("linear_gemm_bf16", Sig.LINEAR, 256),
    LINEAR_GEMM_F16("linear_gemm_f16", Sig.LINEAR, 256),
    RMS_LINEAR_GEMM_F32("rms_linear_gemm_f32", Sig.LINEAR, 256),
    RMS_LINEAR_GEMM_BF16("rms_linear_gemm_bf16", Sig.LINEAR, 256),
    RMS_LINEAR_GEMM_F16("rms_linear_gemm_f16", Sig.LINEAR, 256),
    GATE_UP_GEMM_F32("gate_up_gemm_f32", Sig.LINEAR, 256),
    GATE_UP_GEMM_BF16("gate_up_gemm_bf16", Sig.LINEAR, 256),
    GATE_UP_GEMM_F16("gate_up_gemm_f16", Sig.LINEAR, 256),
    LINEAR_TC_BF16("linear_tc_bf16", Sig.LINEAR, 128),
    RMS_LINEAR_TC_BF16("rms_linear_tc_bf16", Sig.LINEAR, 128),
    GATE_UP_TC_BF16("gate_up_tc_bf16", Sig.LINEAR, 128),
    RMS_NORM("rms_norm", "plpliplif", 0),
    ROPE("rope", "pliiplf", 0),
    SPLIT_QKV("split_qkv", "pliiiplplifplfplplplii", 0),
    SPLIT_QKV_BATCH("split_qkv_batch", "pliiiplplifplfplp", 0),
    EMBEDDING_F32("embedding_f32", Sig.EMBEDDING, 0),
    EMBEDDING_BF16("embedding_bf16", Sig.EMBEDDING, 0),
    EMBEDDING_F16("embedding_f16", Sig.EMBEDDING, 0),
    SWIGLU("swiglu", "plplpll", 0),
    ADD("add", "plplpll", 0),
    COPY_F32("copy_f32", "plpll", 0),
    SCALE("scale", "plfpll", 0),
    ZERO_F32("zero_f32", "pll", 0),
    SOFTMAX_ROWS("softmax_rows", "pli", 0),
    ARGMAX_ROWS("argmax_rows", "plipl", 0),
    ATTENTION("attention", "plplplplpiiiiifipl", 128),
    ATTENTION_MERGE("attention_merge", "piiipl", 0),
    ATTENTION_BATCH("attention_batch", "plpplpiiiifpl", 128),
    // Training
    MATMUL_F32("matmul_f32", Sig.MATMUL, 256),
    MATMUL_BF16("matmul_bf16", Sig.MATMUL, 256),
    MATMUL_F16("matmul_f16", Sig.MATMUL, 256),
    RMS_NORM_BACKWARD("rms_norm_backward", "plpliplplpiiif", 0),
    RMS_NORM_BACKWARD_DW("rms_norm_backward_dw", "piipl", 0),
    ROPE_INVERSE("rope_inverse", "pliiplf", 0),
    SWIGLU_BACKWARD("swiglu_backward", "plplplplpll", 0),
    EMBEDDING_BACKWARD("embedding_backward", "pliplipll", 0),
    CROSS_ENTROPY("cross_entropy", "pliplplpl", 0),
    ATTENTION_BACKWARD_Q("attention_backward_q", "plplplplplpiiiif", 128),
    ATTENTION_BACKWARD_KV("attention_backward_kv", "plplplplpplpliiiif", 128),
    ADAMW("adamw", "plplplpllffifffff", 0),
    SGD("sgd", "plplplliifff", 0),
    SUM_OF_SQUARES("sum_of_squares", "pllpl", SumOfSquares.GROUP);

    /** Signatures shared by several entry points. */
    private static final class Sig {
        /** x, xOff, w, wOff, gamma, gammaOff, gammaType, eps, y, yOff, rows, out, in, accumulate. */
        static final String LINEAR = "plplplifpliiii";
        /** table, tableOff, dim, ids, idsOff, out, outOff. */
        static final String EMBEDDING = "pliplpl";
        /** a, aOff, transA, b, bOff, transB, c, cOff, m, n, k, accumulate. */
        static final String MATMUL = "pliplipliiii";
    }

    /** The PTX entry name. */
    final String symbol;
    final String signature;
    /** The block size the kernel's indexing assumes, or 0 when any multiple of 32 up to 1024 works. */
    final int block;

    Kernel(String symbol, String signature, int block) {
        this.symbol = symbol;
        this.signature = signature;
        this.block = block;
    }

    /** The PTX entry names the Java side launches (the PTX must declare every one). */
    static List<String> symbols() {
        return Arrays.stream(values()).map(k -> k.symbol).toList();
    }

    /** Linear-layer variants: plain, RMSNorm fused, RMSNorm + gate/up + SwiGLU fused. */
    enum Linear { PLAIN, RMS, GATE_UP }

    /** The linear kernel for a variant, a weight type and the GEMV (few rows) or GEMM path. */
    static Kernel linear(Linear variant, boolean gemv, DType type) {
        int t = typeIndex(type);
        int base = switch (variant) {
            case PLAIN -> gemv ? LINEAR_GEMV_F32.ordinal() : LINEAR_GEMM_F32.ordinal();
            case RMS -> gemv ? RMS_LINEAR_GEMV_F32.ordinal() : RMS_LINEAR_GEMM_F32.ordinal();
            case GATE_UP -> gemv ? GATE_UP_GEMV_F32.ordinal() : GATE_UP_GEMM_F32.ordinal();
        };
        return values()[base + t];
    }

    /** The tensor-core GEMM of a variant (BF16 weights, Hopper PTX only). */
    static Kernel tensorCoreLinear(Linear variant) {
        return switch (variant) {
            case PLAIN -> LINEAR_TC_BF16;
            case RMS -> RMS_LINEAR_TC_BF16;
            case GATE_UP -> GATE_UP_TC_BF16;
        };
    }

    static Kernel embedding(DType type) {
        return values()[EMBEDDING_F32.ordinal() + typeIndex(type)];
    }

    /** The general matrix product for B of this type. */
    static Kernel matmul(DType type) {
        return values()[MATMUL_F32.ordinal() + typeIndex(type)];
    }

    /** Position of a weight type among each family's F32, BF16, F16 entries (declared in that order). */
    private static int typeIndex(DType type) {
        return switch (type) {
            case F32 -> 0;
            case BF16 -> 1;
            case F16 -> 2;
            default -> throw new IllegalArgumentException("CUDA kernels read F32, BF16 or F16, not " + type);
        };
    }
}
