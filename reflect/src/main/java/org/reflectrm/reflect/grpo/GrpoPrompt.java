package org.reflectrm.reflect.grpo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.judge.Verdict;
import org.reflectrm.model.train.data.JsonlLines;
import org.reflectrm.model.train.data.SftRecordParser;
import org.reflectrm.model.train.data.SftRecordParser.BadRecord;
import org.reflectrm.tokenizer.chat.ChatMessage;

/**
 * One GRPO prompt of a {@code data build} file: the judge prompt as chat messages (TRL's
 * conversational prompt format, so the same file feeds TRL), which kind of verdict it asks
 * for, the better candidate's slot, the task (for per-task metrics only: the model tells the
 * tasks apart by their template alone) and the template version.
 */
public record GrpoPrompt(String task, List<ChatMessage> prompt, Verdict.Kind kind, int label, String templateVersion) {

    /** What a generated judgment of this prompt says (its verdict sentences are this prompt's kind). */
    public Verdict verdict(String generated) {
        return Verdict.parse(generated, kind);
    }

    /** The verdict reward: 1 when the judgment parses and names the better candidate, else 0. */
    public double reward(Verdict v) {
        return v.parsed() && v.choice() == label ? 1 : 0;
    }

    /** Reads a whole file; any malformed line is an error naming it, and all lines must share one template version. */
    public static List<GrpoPrompt> load(Path file) throws IOException {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException("--data " + file + ": no such file");
        }
        List<GrpoPrompt> out = new ArrayList<>();
        List<int[]> lines = JsonlLines.split(data);
        for (int i = 0; i < lines.size(); i++) {
            int[] l = lines.get(i);
            if (l[0] == l[1]) {
                continue;
            }
            try {
                GrpoPrompt p = parse(JsonlLines.utf8(data, l[0], l[1]));
                if (!out.isEmpty() && !out.getFirst().templateVersion().equals(p.templateVersion())) {
                    throw new BadRecord("template version " + p.templateVersion() + " differs from the first record's "
                            + out.getFirst().templateVersion() + "; train on one template version");
                }
                out.add(p);
            } catch (BadRecord | JsonlLines.NotUtf8 e) {
                throw new BadInputException(file + " line " + (i + 1) + ": " + e.getMessage());
            }
        }
        if (out.isEmpty()) {
            throw new BadInputException(file + ": no GRPO records (make them with `reflectrm-j data build`)");
        }
        return out;
    }

    static GrpoPrompt parse(String line) throws BadRecord {
        JsonNode o = SftRecordParser.object(line, "(a GRPO record from `data build`)");
        String task = SftRecordParser.string(o, "task", "\"task\"");
        if (!task.equals("pref") && !task.equals("refl")) {
            throw new BadRecord("\"task\" must be \"pref\" or \"refl\", got \"" + task + "\"");
        }
        if (!o.has("prompt")) {
            throw new BadRecord("has no \"prompt\" (a list of chat messages)");
        }
        List<ChatMessage> prompt = SftRecordParser.messages(o.get("prompt"));
        String kindName = SftRecordParser.string(o, "verdict_kind", "\"verdict_kind\"");
        Verdict.Kind kind = switch (kindName) {
            case "response" -> Verdict.Kind.RESPONSE;
            case "critique" -> Verdict.Kind.CRITIQUE;
            default -> throw new BadRecord("\"verdict_kind\" must be \"response\" or \"critique\", got \"" + kindName + "\"");
        };
        JsonNode label = o.get("label");
        if (label == null || !label.isInt() || (label.asInt() != 1 && label.asInt() != 2)) {
            throw new BadRecord("\"label\" must be 1 or 2 (the better candidate's slot), got " + label);
        }
        return new GrpoPrompt(task, prompt, kind, label.asInt(), SftRecordParser.string(o, "template_version", "\"template_version\""));
    }
}
