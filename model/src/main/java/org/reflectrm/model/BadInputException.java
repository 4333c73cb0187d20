package org.reflectrm.model;

/**
 * Bad user input: a malformed file, a missing tensor, an impossible option. The CLI catches it,
 * prints only {@link #getMessage()} and exits with code 2, so the message must stand on its own:
 * name the file (and line, tensor or field) and say what was expected and what was found.
 */
public class BadInputException extends RuntimeException {

    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
