package org.reflectrm.model.qwen3;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.reflectrm.kernels.DType;
import org.reflectrm.kernels.Q8Format;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.TensorEntry;
import org.reflectrm.model.safetensors.TensorSource;
import org.reflectrm.model.train.ModelFiles;
import org.reflectrm.tensor.Tensor;

/**
 * 8-bit checkpoints ({@link Q8Format}) on disk. Every matrix whose rows are whole 32-value blocks
 * (the projections, the embedding and a stored output head) is stored as a safetensors {@code U8}
 * tensor of shape {@code [rows, cols / 32 · 36]}: each row's blocks, quants then scale, so the
 * mapped file is used as it is, with no copy. Norm weights keep their type. {@code config.json}
 * gains {@code "quantization_config": {"quant_method": "reflectrm-q8", "block_size": 32}}, which
 * tells readers (and transformers, which refuses an unknown method) that the weights are not
 * plain bytes.
 */
public final class Q8Weights {
    public static final String METHOD = "reflectrm-q8";

    private Q8Weights() {
    }

    /** Stored U8 columns for a row of {@code cols} values. */
    static long storedColumns(int cols) {
        return Q8Format.bytes(cols);
    }

    /** Whether {@code t} is stored in 8 bits by {@link #save}. */
    public static boolean quantizable(Tensor t) {
        return t.rank() == 2 && t.dim(1) % Q8Format.BLOCK == 0 && t.dtype() != DType.Q8;
    }

    /**
     * The Q8 view of a stored {@code U8} tensor that the config says has {@code shape}; refuses a
     * U8 tensor whose shape is not the block layout of that shape.
     */
    static Tensor bind(TensorEntry e, String name, int[] shape) {
        long[] stored = e.shape();
        boolean fits = shape.length == 2 && shape[1] % Q8Format.BLOCK == 0 && stored.length == 2
                && stored[0] == shape[0] && stored[1] == storedColumns(shape[1]);
        if (!fits) {
            String want = shape.length == 2 && shape[1] % Q8Format.BLOCK == 0
                    ? "[" + shape[0] + ", " + storedColumns(shape[1]) + "] (the 8-bit blocks of " + Arrays.toString(shape) + ")"
                    : "F32, F16 or BF16 data (" + Arrays.toString(shape) + " has no 8-bit form)";
            throw new BadInputException(e.file() + ": tensor '" + name + "' is U8 with shape " + Arrays.toString(stored)
                    + " but config.json implies " + want);
        }
        return new Tensor(e.data(), 0, DType.Q8, shape);
    }

    /**
     * Writes {@code weights} to {@code out} with every {@link #quantizable} matrix in 8 bits and
     * the rest as they are, the config marked as quantised and {@code baseDir}'s tokenizer and
     * generation files copied. Returns the bytes of weight data written.
     */
    public static long save(Path out, Path baseDir, Map<String, Tensor> weights) throws IOException {
        long total = 0;
        try (Arena arena = Arena.ofConfined()) {
            List<TensorSource> sources = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : weights.entrySet()) {
                Tensor t = e.getValue();
                TensorSource s = quantizable(t) ? quantize(arena, e.getKey(), t) : ModelFiles.convert(arena, e.getKey(), t, t.dtype());
                sources.add(s);
                total += s.byteSize();
            }
            ModelFiles.write(out, baseDir, sources, Map.of("format", "pt", "quantization", METHOD), config -> {
                ObjectNode q = config.putObject("quantization_config");
                q.put("quant_method", METHOD);
                q.put("block_size", Q8Format.BLOCK);
            });
        }
        return total;
    }

    private static TensorSource quantize(Arena arena, String name, Tensor t) {
        int rows = t.dim(0);
        int cols = t.dim(1);
        long rowBytes = storedColumns(cols);
        MemorySegment data = arena.allocate(Math.max(1, rows * rowBytes), 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = t.getFloat((long) r * cols + c);
            }
            try {
                Q8Format.quantize(row, 0, cols, data, r * rowBytes);
            } catch (IllegalArgumentException e) {
                throw new BadInputException("tensor '" + name + "' row " + r + ": " + e.getMessage());
            }
        }
        return new TensorSource(name, DType.U8, new long[] {rows, rowBytes}, data.asSlice(0, rows * rowBytes));
    }
}
