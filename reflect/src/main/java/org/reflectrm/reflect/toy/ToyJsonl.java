package org.reflectrm.reflect.toy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.reflectrm.reflect.toy.ToyDomain.Pair;
import org.reflectrm.reflect.toy.ToyTeacher.Example;

/**
 * JSONL writers for the toy world. Pairs use the project's chosen/rejected pair format
 * ({@code id, prompt, chosen, rejected, subset}; read by {@code data sample} and
 * {@code eval --benchmark pairs}). SFT examples use the chat format {@code train sft} reads:
 * {@code {"id", "messages": [{"role": "user", ...}, {"role": "assistant", "content",
 * "reasoning_content": ""}]}}; the empty reasoning renders the assistant turn as the model
 * produces it after the {@code enable_thinking=False} generation prompt.
 */
public final class ToyJsonl {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ToyJsonl() {
    }

    public static String pairLine(Pair p) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("id", p.id());
        o.put("prompt", p.question());
        o.put("chosen", p.chosen());
        o.put("rejected", p.rejected());
        o.put("subset", p.task().id);
        return o.toString();
    }

    public static String sftLine(Example e) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("id", e.id());
        var messages = o.putArray("messages");
        messages.addObject().put("role", "user").put("content", e.prompt());
        messages.addObject().put("role", "assistant").put("content", e.target()).put("reasoning_content", "");
        return o.toString();
    }

    public static void writePairs(Writer out, List<Pair> pairs) throws IOException {
        for (Pair p : pairs) {
            out.write(pairLine(p));
            out.write('\n');
        }
    }

    public static void writeSft(Writer out, List<Example> examples) throws IOException {
        for (Example e : examples) {
            out.write(sftLine(e));
            out.write('\n');
        }
    }

    public static void writePairs(Path file, List<Pair> pairs) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            writePairs(w, pairs);
        }
    }

    public static void writeSft(Path file, List<Example> examples) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            writeSft(w, examples);
        }
    }
}
