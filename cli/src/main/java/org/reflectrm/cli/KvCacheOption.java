package org.reflectrm.cli;

import java.util.Locale;
import org.reflectrm.kernels.DType;
import org.reflectrm.model.BadInputException;
import picocli.CommandLine.Option;

/** {@code --kv-cache}: what the KV caches of a generating command hold. */
final class KvCacheOption {
    @Option(names = "--kv-cache", paramLabel = "TYPE", defaultValue = "f32",
            description = "What the KV caches hold: f32 (the default; exact) or bf16 (CPU only: half the memory, and a "
                    + "decode step reads half the bytes from the cache; keys and values are rounded as a BF16 model's "
                    + "are, which moves logits by about 1e-5 to 1e-3). Default: ${DEFAULT-VALUE}.")
    String kvCache = "f32";

    /** The type named, or bad usage naming the option. */
    DType type() {
        return switch (kvCache.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new BadInputException("--kv-cache must be f32 or bf16, got " + kvCache);
        };
    }
}
