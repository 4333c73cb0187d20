package org.reflectrm.tokenizer.chat;

import java.util.List;
import java.util.Objects;

/**
 * One chat message as the Qwen3 chat template sees it ({@code messages[i]} in transformers'
 * {@code apply_chat_template}).
 *
 * @param role             {@code "system"}, {@code "user"}, {@code "assistant"} or {@code "tool"} (the
 *                         renderer rejects any other role; the Jinja template would silently drop it)
 * @param content          the message text; {@code null} means "no string content" (transformers
 *                         {@code content: None}), which the current Qwen3 template renders as {@code ""}
 * @param reasoningContent assistant only: the {@code reasoning_content} field, or {@code null} when absent.
 *                         When {@code null}, a {@code <think>…</think>} block inside {@code content} is used
 *                         instead, exactly as the template does
 * @param toolCalls        assistant only: the {@code tool_calls} (never {@code null}; empty = none)
 */
public record ChatMessage(String role, String content, String reasoningContent, List<ToolCall> toolCalls) {

    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";
    public static final String TOOL = "tool";

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A message without tool calls. */
    public ChatMessage(String role, String content, String reasoningContent) {
        this(role, content, reasoningContent, List.of());
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(SYSTEM, content, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(USER, content, null);
    }

    /** An assistant message; a {@code <think>…</think>} block in {@code content} counts as its reasoning. */
    public static ChatMessage assistant(String content) {
        return new ChatMessage(ASSISTANT, content, null);
    }

    /** An assistant message with a separate {@code reasoning_content} (then {@code content} is used as is). */
    public static ChatMessage assistant(String content, String reasoningContent) {
        return new ChatMessage(ASSISTANT, content, reasoningContent);
    }

    /** An assistant message that calls tools; {@code content} may be {@code null} or empty. */
    public static ChatMessage assistant(String content, String reasoningContent, List<ToolCall> toolCalls) {
        return new ChatMessage(ASSISTANT, content, reasoningContent, toolCalls);
    }

    /** A tool result; the template wraps it in {@code <tool_response>} inside a user turn. */
    public static ChatMessage tool(String content) {
        return new ChatMessage(TOOL, content, null);
    }
}
