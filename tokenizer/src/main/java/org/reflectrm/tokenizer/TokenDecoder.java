package org.reflectrm.tokenizer;

import java.util.Arrays;

/**
 * A {@code tokenizer.json} decoder: turns token strings back into bytes. Decoding is then one lossy
 * UTF-8 pass over all the bytes (HF concatenates before decoding, so a character split across tokens
 * decodes whole).
 */
sealed interface TokenDecoder {
    /** Appends the bytes token {@code token} stands for; {@code first} says whether it is the first. */
    void appendBytes(String token, boolean first, ByteSink out);

    /** A growable byte buffer. */
    final class ByteSink {
        private byte[] data = new byte[64];
        private int size;

        void add(int b) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = (byte) b;
        }

        void add(byte[] bytes) {
            for (byte b : bytes) {
                add(b);
            }
        }

        byte[] data() {
            return data;
        }

        int size() {
            return size;
        }

        /** Drops the first {@code count} bytes. */
        void discard(int count) {
            System.arraycopy(data, count, data, 0, size - count);
            size -= count;
        }
    }

    /**
     * HF's {@code ByteLevel} decoder: a token whose characters all belong to the byte-level alphabet
     * stands for those bytes; any other token (an added token with a space, say) stands for its own UTF-8.
     */
    record ByteLevel() implements TokenDecoder {
        @Override
        public void appendBytes(String token, boolean first, ByteSink out) {
            for (int i = 0; i < token.length(); i++) {
                if (ByteLevelAlphabet.byteOf(token.charAt(i)) < 0) {
                    out.add(Utf8.encode(Utf8.replaceLoneSurrogates(token)));
                    return;
                }
            }
            for (int i = 0; i < token.length(); i++) {
                out.add(ByteLevelAlphabet.byteOf(token.charAt(i)));
            }
        }
    }

    /** No decoder ({@code "decoder": null}): HF joins the tokens with single spaces. */
    record SpaceJoin() implements TokenDecoder {
        @Override
        public void appendBytes(String token, boolean first, ByteSink out) {
            if (!first) {
                out.add(' ');
            }
            out.add(Utf8.encode(Utf8.replaceLoneSurrogates(token)));
        }
    }
}
