package org.reflectrm.model.train.data;

import java.util.Objects;
import org.reflectrm.model.BadInputException;

/**
 * How {@link SftDataset#load} treats its input.
 *
 * @param maxLen   longest example in tokens (at least 2: one input and one target)
 * @param overLong what to do with a longer example
 * @param strict   if true, any line that would be skipped (malformed, over-long under {@link OverLong#REJECT}, no
 *                 loss tokens left) throws {@link BadInputException} naming the file and line; if false it is
 *                 skipped, counted in {@link SftDataStats} and listed there (the first few)
 */
public record SftDataOptions(int maxLen, OverLong overLong, boolean strict) {

    /** Policy for an example longer than {@code maxLen} tokens. */
    public enum OverLong {
        /** Keep its first {@code maxLen} tokens (the loss mask cut with them); counted as truncated. */
        TRUNCATE,
        /** Drop it (counted), or fail in strict mode. */
        REJECT
    }

    public SftDataOptions {
        Objects.requireNonNull(overLong, "overLong");
        if (maxLen < 2) {
            throw new BadInputException("SFT max length must be at least 2 tokens, got " + maxLen);
        }
    }

    /** Lenient: truncate over-long examples, skip and count bad lines. */
    public static SftDataOptions lenient(int maxLen) {
        return new SftDataOptions(maxLen, OverLong.TRUNCATE, false);
    }
}
