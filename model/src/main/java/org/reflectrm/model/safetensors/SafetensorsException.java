package org.reflectrm.model.safetensors;

import org.reflectrm.model.BadInputException;

/**
 * A safetensors file, shard index or checkpoint folder that cannot be used as it is. Messages
 * start with the file (or folder) they are about, then name the tensor and field at fault and
 * what was expected versus found, because the user sees nothing but this message.
 */
public class SafetensorsException extends BadInputException {

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
