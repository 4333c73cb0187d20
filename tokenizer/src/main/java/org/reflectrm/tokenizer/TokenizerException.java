package org.reflectrm.tokenizer;

/**
 * Bad tokenizer input: a malformed or unsupported {@code tokenizer.json}, an unreadable file, or an id
 * that names no token. The message always says which file, JSON path or id is at fault.
 *
 * <p>It extends {@link IllegalArgumentException} so callers that treat every bad-input problem alike
 * (the CLI maps them to exit code 2) can catch one type.
 */
public class TokenizerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
