package org.reflectrm.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Objects;

/**
 * One entry of an assistant message's {@code tool_calls}. Whether the caller's JSON wrapped it as
 * {@code {"type": "function", "function": {...}}} or not makes no difference to the rendering.
 *
 * @param name      the function name (rendered verbatim)
 * @param arguments a JSON text node = an arguments <em>string</em>, rendered verbatim (as the template does for
 *                  {@code arguments is string}); any other node (object, array, number, {@code null} node…) is
 *                  rendered with the template's {@code tojson} = Python {@code json.dumps(x, ensure_ascii=False)}
 */
public record ToolCall(String name, JsonNode arguments) {

    public ToolCall {
        Objects.requireNonNull(name, "tool call name");
        Objects.requireNonNull(arguments, "tool call arguments (use NullNode for a JSON null)");
    }

    /** Arguments given as a JSON value, rendered with Python-compatible {@code json.dumps}. */
    public static ToolCall of(String name, JsonNode arguments) {
        return new ToolCall(name, arguments);
    }

    /** Arguments given as a string (usually already JSON text), rendered verbatim. */
    public static ToolCall ofRawArguments(String name, String arguments) {
        return new ToolCall(name, TextNode.valueOf(Objects.requireNonNull(arguments, "arguments")));
    }
}
