package org.reflectrm.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import org.reflectrm.tokenizer.StreamDecoder;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * Generated ids as text, the way Hugging Face's {@code decode(ids, skip_special_tokens=True)} gives it: special
 * tokens left out, and ids that name no token dropped. A model's output rows can outnumber the tokenizer's tokens
 * (Qwen3: 151,936 rows, tokens 0..151,668), and a sampled padding id must not end a run; HF drops such ids
 * silently, and so does this. {@link Stream} prints the same text piece by piece.
 */
final class AnswerText {
    private AnswerText() {
    }

    /** The text of {@code ids}. */
    static String decode(Tokenizer tokenizer, int[] ids) {
        return tokenizer.decode(Arrays.stream(ids).filter(tokenizer::hasToken).toArray(), true);
    }

    /** Prints text as ids arrive; everything printed, {@link #finish} included, equals {@link #decode}. */
    static final class Stream {
        private final Tokenizer tokenizer;
        private final StreamDecoder decoder;
        private final PrintWriter out;

        Stream(Tokenizer tokenizer, PrintWriter out) {
            this.tokenizer = tokenizer;
            this.decoder = tokenizer.streamDecoder(true);
            this.out = out;
        }

        /** Prints the text {@code id} completes (bytes of an unfinished character wait for the next ids). */
        void accept(int id) {
            if (tokenizer.hasToken(id)) {
                out.print(decoder.next(id));
                out.flush();
            }
        }

        /** Prints what is left (an unfinished character as U+FFFD), then a newline. */
        void finish() {
            out.println(decoder.finish());
            out.flush();
        }
    }
}
