package org.reflectrm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A JSON value together with the file it came from and its JSON path, so that every complaint about it
 * can say exactly where the problem is ({@code tokenizer.json: $.model.merges[12]: ...}).
 */
record JsonSpot(JsonNode node, String path, String source) {

    TokenizerException error(String message) {
        return new TokenizerException(source + ": " + path + ": " + message);
    }

    boolean isNull() {
        return node == null || node.isNull() || node.isMissingNode();
    }

    /** A field that may be absent or null. */
    JsonSpot get(String name) {
        JsonNode child = node.isObject() ? node.get(name) : null;
        return new JsonSpot(child, path + "." + name, source);
    }

    JsonSpot at(int index) {
        return new JsonSpot(node.get(index), path + "[" + index + "]", source);
    }

    JsonSpot requireObject() {
        if (node == null || !node.isObject()) {
            throw error("expected a JSON object, found " + describe());
        }
        return this;
    }

    /** A required field. */
    JsonSpot field(String name) {
        requireObject();
        JsonSpot child = get(name);
        if (child.node == null || child.node.isMissingNode()) {
            throw child.error("missing required field");
        }
        return child;
    }

    String asText() {
        if (node == null || !node.isTextual()) {
            throw error("expected a string, found " + describe());
        }
        return node.textValue();
    }

    /** The string, or {@code fallback} when absent or null. */
    String textOr(String fallback) {
        return isNull() ? fallback : asText();
    }

    boolean boolOr(boolean fallback) {
        if (isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw error("expected true or false, found " + describe());
        }
        return node.booleanValue();
    }

    int asInt() {
        if (node == null || !node.canConvertToInt() || !node.isIntegralNumber()) {
            throw error("expected an integer, found " + describe());
        }
        return node.intValue();
    }

    List<JsonSpot> elements() {
        if (node == null || !node.isArray()) {
            throw error("expected a JSON array, found " + describe());
        }
        List<JsonSpot> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            out.add(at(i));
        }
        return out;
    }

    /** Entries of an object, in file order. */
    List<Map.Entry<String, JsonSpot>> entries() {
        requireObject();
        List<Map.Entry<String, JsonSpot>> out = new ArrayList<>(node.size());
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            out.add(Map.entry(e.getKey(), new JsonSpot(e.getValue(), path + "[\"" + e.getKey() + "\"]", source)));
        }
        return out;
    }

    /** The {@code type} tag of a component object. */
    String type() {
        return field("type").asText();
    }

    private String describe() {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        if (node.isNull()) {
            return "null";
        }
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
