package org.reflectrm.cli;

import org.reflectrm.model.TokenizerFiles;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code reflectrm-j tokenize}: text to token ids and back, with a Hugging Face tokenizer.json. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encode text to token ids, or decode ids to text, with a Hugging Face tokenizer "
                + "(byte-level BPE, as the Rust tokenizers library: same ids).",
                "Give exactly one of --text, --jsonl or --decode.",
                "By default added tokens written in the text (<|im_start|>, <think>, ...) become their ids, as HF's "
                        + "encode(text, add_special_tokens=False); with --untrusted none are matched, so such text "
                        + "stays plain characters (use it for text from users or documents).",
                "--jsonl reads one {\"text\": ...} object per line and writes one {\"ids\": [...]} line per input "
                        + "line, in order. A bad line (not UTF-8, not JSON, no string \"text\", or empty) is reported "
                        + "on stderr with its line number and answered with {\"error\": ..., \"line\": N}, so output "
                        + "line N always answers input line N; the other lines are still processed, and the exit "
                        + "code is 2 if any line was bad."})
final class TokenizeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Folder with tokenizer.json (and tokenizer_config.json), e.g. a model folder; or a tokenizer.json file.")
    Path tokenizerPath;

    @Option(names = "--text", paramLabel = "S", description = "Encode S and print its ids.")
    String text;

    @Option(names = "--jsonl", paramLabel = "FILE", description = "Encode the \"text\" of every line of FILE ('-': stdin).")
    String jsonl;

    @Option(names = "--decode", paramLabel = "IDS",
            description = "Decode comma-separated ids to text. An id that names no token is an error here "
                    + "(generate drops such ids, as HF's decode does).")
    String decode;

    @Option(names = "--untrusted", description = "With --text or --jsonl: match no added token (special-token text stays plain text).")
    boolean untrusted;

    @Option(names = "--skip-special", description = "With --decode: leave out special tokens (HF's skip_special_tokens).")
    boolean skipSpecial;

    @Option(names = "--json", description = "--text: print {\"ids\": [...], \"tokens\": [...]} (default: the ids, comma-separated). "
            + "--decode: print {\"text\": ...}, exact (default: the text and a newline). --jsonl always writes JSON lines.")
    boolean json;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        int modes = (text != null ? 1 : 0) + (jsonl != null ? 1 : 0) + (decode != null ? 1 : 0);
        if (modes != 1) {
            throw new BadInputException(modes == 0 ? "tokenize: give one of --text S, --jsonl FILE or --decode IDS"
                    : "tokenize: --text, --jsonl and --decode are mutually exclusive; give one");
        }
        if (untrusted && decode != null) {
            throw new BadInputException("--untrusted applies to encoding (--text, --jsonl), not to --decode");
        }
        if (skipSpecial && decode == null) {
            throw new BadInputException("--skip-special applies to --decode only");
        }
        int[] decodeIds = decode != null ? TokenList.parse("--decode", decode, true) : null;
        if (jsonl != null && !jsonl.equals("-")) {
            // checked before the tokenizer loads
            if (Files.isDirectory(Path.of(jsonl))) {
                throw new BadInputException("--jsonl: " + jsonl + " is a directory, not a JSONL file");
            }
            if (!Files.exists(Path.of(jsonl))) {
                throw new BadInputException("--jsonl: " + jsonl + ": no such file");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        Tokenizer tokenizer = TokenizerFiles.load(tokenizerPath, "--tokenizer");
        if (decodeIds != null) {
            for (int i = 0; i < decodeIds.length; i++) {
                if (!tokenizer.hasToken(decodeIds[i])) {
                    throw new BadInputException("--decode: item " + (i + 1) + " (" + decodeIds[i] + ") names no token of "
                            + tokenizerPath + " (it has " + tokenizer.vocabSize() + " tokens)");
                }
            }
            String decoded = tokenizer.decode(decodeIds, skipSpecial);
            if (json) {
                ObjectNode o = JSON.createObjectNode();
                o.put("text", decoded);
                out.println(JSON.writeValueAsString(o));
            } else {
                out.println(decoded);
            }
            out.flush();
            return 0;
        }
        if (text != null) {
            int[] ids = encode(tokenizer, text);
            if (json) {
                ObjectNode o = JSON.createObjectNode();
                ArrayNode a = o.putArray("ids");
                for (int id : ids) {
                    a.add(id);
                }
                ArrayNode t = o.putArray("tokens");
                for (String s : tokenizer.tokens(ids)) {
                    t.add(s);
                }
                out.println(JSON.writeValueAsString(o));
            } else {
                out.println(ids(ids));
            }
            out.flush();
            return 0;
        }
        return encodeJsonl(tokenizer, out, spec.commandLine().getErr());
    }

    private int[] encode(Tokenizer tokenizer, String s) {
        return untrusted ? tokenizer.encodeUntrusted(s) : tokenizer.encode(s);
    }

    private static String ids(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length * 7);
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(ids[i]);
        }
        return sb.toString();
    }

    private int encodeJsonl(Tokenizer tokenizer, PrintWriter out, PrintWriter err) throws IOException {
        boolean stdin = jsonl.equals("-");
        String name = stdin ? "<stdin>" : jsonl;
        long lines = 0;
        long bad = 0;
        try (InputStream in = stdin ? main.stdin() : Files.newInputStream(Path.of(jsonl))) {
            ByteLines reader = new ByteLines(in);
            byte[] line;
            while ((line = reader.next()) != null) {
                lines++;
                String error;
                int[] ids = null;
                try {
                    ids = encode(tokenizer, textOf(line));
                    error = null;
                } catch (BadLine e) {
                    error = e.getMessage();
                }
                if (error == null) {
                    out.println("{\"ids\":[" + ids(ids) + "]}");
                } else {
                    bad++;
                    ObjectNode o = JSON.createObjectNode();
                    o.put("error", error);
                    o.put("line", lines);
                    out.println(JSON.writeValueAsString(o));
                    err.println("reflectrm-j: " + name + ":" + lines + ": " + error);
                }
                // Flushed per line: whatever was answered before a crash is kept.
                out.flush();
            }
        } catch (NoSuchFileException e) {
            throw new BadInputException("--jsonl: " + jsonl + ": no such file", e);
        }
        return SkippedLines.exitCode(err, name, bad, lines,
                "they were answered with {\"error\", \"line\"} lines and the others were tokenized");
    }

    /** A JSONL line that cannot be tokenized; the message says why, without the line number. */
    private static final class BadLine extends Exception {
        private static final long serialVersionUID = 1L;

        BadLine(String message) {
            super(message);
        }
    }

    private static String textOf(byte[] line) throws BadLine {
        String s;
        try {
            s = ByteLines.utf8(line);
        } catch (ByteLines.NotUtf8 e) {
            throw new BadLine(e.getMessage());
        }
        if (s.isBlank()) {
            throw new BadLine("empty line; expected a JSON object with a string \"text\"");
        }
        JsonNode node;
        try {
            node = StrictJson.read(s);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null || loc.getColumnNr() < 1 ? "" : " at column " + loc.getColumnNr();
            throw new BadLine("not valid JSON" + where + ": " + StrictJson.message(e));
        }
        if (!node.isObject()) {
            throw new BadLine("expected a JSON object with a string \"text\", got " + StrictJson.kind(node));
        }
        JsonNode t = node.get("text");
        if (t == null) {
            throw new BadLine("no \"text\" field");
        }
        if (!t.isTextual()) {
            throw new BadLine("\"text\" is " + StrictJson.kind(t) + ", expected a string");
        }
        return t.textValue();
    }
}
