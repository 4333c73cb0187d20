package org.reflectrm.model.judge;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * The two ReflectRM prompt templates of one version: response preference (which of two
 * responses is better) and analysis preference (which of two critiques of them is better, the
 * self-reflection). Each is plain text with {@code {placeholders}}, rendered as the user turn of
 * the chat template. A judge must run with the template version its model was trained on, so
 * the version travels with every output.
 *
 * <p>Filling is a single pass over the template: text put in a placeholder is never scanned
 * again, so a response containing {@code {response_2}} stays that text.
 */
public record JudgeTemplate(String version, String responseTemplate, String analysisTemplate) {
    public static final String DEFAULT_VERSION = "v1";
    static final List<String> BUNDLED = List.of("v1");
    static final String RESPONSE_FILE = "response.txt";
    static final String ANALYSIS_FILE = "analysis.txt";
    static final String VERSION_FILE = "version.txt";
    private static final Set<String> RESPONSE_FIELDS = Set.of("context", "response_1", "response_2");
    private static final Set<String> ANALYSIS_FIELDS = Set.of("context", "response_1", "response_2", "critique_1", "critique_2");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([a-z0-9_]+)}");

    /** A bundled version ({@code v1}). */
    public static JudgeTemplate bundled(String version) {
        if (!BUNDLED.contains(version)) {
            throw new BadInputException("unknown judge template version '" + version + "'; bundled: " + BUNDLED);
        }
        String base = "/org/reflectrm/model/judge/templates/" + version + "/";
        return checked(version, resource(base + RESPONSE_FILE), resource(base + ANALYSIS_FILE), "bundled " + version);
    }

    /**
     * Templates from a folder: {@code response.txt}, {@code analysis.txt} and a one-line
     * {@code version.txt} naming the version (required: outputs and checkpoints record it).
     */
    public static JudgeTemplate fromDir(Path dir) {
        String version = read(dir.resolve(VERSION_FILE)).strip();
        if (version.isEmpty() || version.contains("\n")) {
            throw new BadInputException(dir.resolve(VERSION_FILE) + ": must hold one non-empty line, the template version");
        }
        return checked(version, read(dir.resolve(RESPONSE_FILE)), read(dir.resolve(ANALYSIS_FILE)), dir.toString());
    }

    private static JudgeTemplate checked(String version, String response, String analysis, String source) {
        requireFields(response, RESPONSE_FIELDS, source + " " + RESPONSE_FILE);
        requireFields(analysis, ANALYSIS_FIELDS, source + " " + ANALYSIS_FILE);
        return new JudgeTemplate(version, response, analysis);
    }

    /** Every field used exactly as named; unknown placeholders are typos and rejected. */
    private static void requireFields(String template, Set<String> fields, String where) {
        Set<String> seen = new LinkedHashSet<>();
        Matcher m = PLACEHOLDER.matcher(template);
        while (m.find()) {
            if (!fields.contains(m.group(1))) {
                throw new BadInputException(where + ": unknown placeholder {" + m.group(1) + "}; allowed: " + fields);
            }
            seen.add(m.group(1));
        }
        for (String f : fields) {
            if (!seen.contains(f)) {
                throw new BadInputException(where + ": missing placeholder {" + f + "}");
            }
        }
    }

    /** The response-preference prompt. */
    public String renderResponse(String context, String response1, String response2) {
        return fill(responseTemplate, Map.of("context", context, "response_1", response1, "response_2", response2));
    }

    /** The analysis-preference (self-reflection) prompt. */
    public String renderAnalysis(String context, String response1, String response2, String critique1, String critique2) {
        return fill(analysisTemplate, Map.of("context", context, "response_1", response1, "response_2", response2,
                "critique_1", critique1, "critique_2", critique2));
    }

    static String fill(String template, Map<String, String> values) {
        StringBuilder out = new StringBuilder(template.length() + 256);
        Matcher m = PLACEHOLDER.matcher(template);
        int at = 0;
        while (m.find()) {
            out.append(template, at, m.start()).append(values.get(m.group(1)));
            at = m.end();
        }
        return out.append(template, at, template.length()).toString();
    }

    /**
     * The conversation being judged as template text: a lone user message is its own text;
     * otherwise each turn is headed by its role ({@code [User]}, {@code [Assistant]},
     * {@code [System]}), turns separated by a blank line.
     */
    public static String context(List<ChatMessage> conversation) {
        if (conversation.size() == 1 && conversation.getFirst().role().equals(ChatMessage.USER)) {
            return conversation.getFirst().content();
        }
        StringBuilder sb = new StringBuilder();
        for (ChatMessage m : conversation) {
            if (!sb.isEmpty()) {
                sb.append("\n\n");
            }
            String role = m.role();
            sb.append('[').append(Character.toUpperCase(role.charAt(0))).append(role.substring(1)).append("]\n")
                    .append(m.content() == null ? "" : m.content());
        }
        return sb.toString();
    }

    private static String resource(String name) {
        try (InputStream in = JudgeTemplate.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("reading " + name, e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file (a template folder holds " + RESPONSE_FILE + ", "
                    + ANALYSIS_FILE + " and " + VERSION_FILE + ")");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
    }
}
