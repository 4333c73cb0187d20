package org.reflectrm.tokenizer;

/**
 * Decodes ids as they are generated. Each {@link #next(int)} returns the text that became complete: bytes
 * of a character split across tokens are held back until the character is whole, while bytes that can
 * never become valid UTF-8 come out at once as U+FFFD. The concatenation of all returned strings and
 * {@link #finish()} equals {@link Tokenizer#decode(int[], boolean)} of all the ids.
 *
 * <p>Not thread-safe: one per generation stream.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final TokenDecoder.ByteSink pending = new TokenDecoder.ByteSink();
    private boolean first = true;

    StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /**
     * Feeds one id and returns the text it completed (possibly empty).
     *
     * @throws TokenizerException if the id names no token
     */
    public String next(int id) {
        if (tokenizer.appendTokenBytes(id, skipSpecialTokens, first, pending)) {
            first = false;
        }
        StringBuilder out = new StringBuilder();
        int used = Utf8.decode(pending.data(), pending.size(), out, true);
        pending.discard(used);
        return out.toString();
    }

    /** Whether bytes of an unfinished character are being held back. */
    public boolean hasPendingBytes() {
        return pending.size() > 0;
    }

    /** Ends the stream: held-back bytes of an unfinished character come out as U+FFFD. Resets the decoder. */
    public String finish() {
        String rest = Utf8.decodeLossy(pending.data(), pending.size());
        pending.discard(pending.size());
        first = true;
        return rest;
    }
}
