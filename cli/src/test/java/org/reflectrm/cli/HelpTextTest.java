package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every command's {@code --help} renders cleanly: picocli formats descriptions with
 * {@code String.format}, so a bare {@code %} in one (e.g. "95% intervals") makes it print a
 * warning on stderr and the raw text instead.
 */
class HelpTextTest {
    /** The command paths, from the top-level usage's command list (one level of groups). */
    private static List<List<String>> commands() {
        List<List<String>> out = new ArrayList<>();
        for (String name : List.of("info", "logits", "generate", "tokenize", "chat-template", "init", "bench", "judge",
                "bench-judge", "devices", "grad", "merge-lora", "quantize", "bench-train", "eval")) {
            out.add(List.of(name));
        }
        for (String sub : List.of("sft", "grpo")) {
            out.add(List.of("train", sub));
        }
        for (String sub : List.of("sample", "build")) {
            out.add(List.of("data", sub));
        }
        for (String sub : List.of("data", "reproduce")) {
            out.add(List.of("demo", sub));
        }
        return out;
    }

    @Test
    void everyHelpRendersWithoutFormatWarnings() {
        PrintStream original = System.err;
        for (List<String> command : commands()) {
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            StringWriter out = new StringWriter();
            List<String> args = new ArrayList<>(command);
            args.add("--help");
            int code;
            try {
                System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
                code = Main.run(args.toArray(String[]::new), new PrintWriter(out), new PrintWriter(new StringWriter()));
            } finally {
                System.setErr(original);
            }
            String warnings = captured.toString(StandardCharsets.UTF_8);
            assertEquals(0, code, command + " --help");
            assertTrue(out.toString().contains("Usage: reflectrm-j " + String.join(" ", command)), command + ": " + out);
            assertTrue(!warnings.contains("WARN") && !out.toString().contains("%n"), command + ": " + warnings);
        }
    }
}
