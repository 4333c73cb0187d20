package org.reflectrm.tokenizer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads JSON values into Jackson trees with the streaming parser alone. An {@code ObjectMapper} would do the
 * same but costs about 200 ms of class loading and set-up in a fresh JVM, a fifth of the load-time budget.
 */
final class JsonTrees {
    private JsonTrees() {
    }

    /**
     * The vocabulary's 151k keys are all distinct and used once: interning or canonicalizing them as field
     * names would only cost time, so both are off.
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Reads one whole JSON document; fails on trailing content. */
    static JsonNode readDocument(InputStream in) throws IOException {
        try (JsonParser p = FACTORY.createParser(in)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new JsonProcessingException("no content", p.currentLocation()) {
                    private static final long serialVersionUID = 1L;
                };
            }
            JsonNode node = readValue(p);
            if (p.nextToken() != null) {
                throw new JsonProcessingException("content after the top-level value", p.currentLocation()) {
                    private static final long serialVersionUID = 1L;
                };
            }
            return node;
        }
    }

    /** Reads the value whose first token is the parser's current token. */
    static JsonNode readValue(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                ObjectNode object = NODES.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    object.set(name, readValue(p));
                }
                return object;
            }
            case START_ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    array.add(readValue(p));
                }
                return array;
            }
            case VALUE_STRING -> {
                return NODES.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                return NODES.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE -> {
                return NODES.booleanNode(true);
            }
            case VALUE_FALSE -> {
                return NODES.booleanNode(false);
            }
            case VALUE_NULL -> {
                return NODES.nullNode();
            }
            default -> throw new JsonProcessingException("unexpected " + t, p.currentLocation()) {
                private static final long serialVersionUID = 1L;
            };
        }
    }

    /** The error for a JSON file that cannot be read or parsed, naming the file and the place. */
    static TokenizerException readError(String source, java.io.IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException json) {
            var loc = json.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            return new TokenizerException(source + ": not valid JSON" + where + ": " + json.getOriginalMessage(), e);
        }
        return new TokenizerException(source + ": cannot read: " + e.getMessage(), e);
    }
}
