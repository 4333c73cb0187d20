package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.api.JudgeOptions;
import org.reflectrm.api.Judgment;
import org.reflectrm.api.JudgmentJson;
import org.reflectrm.api.Pair;
import org.reflectrm.api.ReflectRM;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.tokenizer.chat.ChatMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reflectrm-j judge}: which of two responses is better, by a generative reward model. */
@Command(name = "judge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Judge which of two responses is better with a Qwen3 generative reward model, in one of three "
                + "modes: greedy (one analysis), vote (majority of N sampled analyses) or reflect (ReflectRM's two-stage "
                + "self-reflection: N rollouts, the most confident as anchor, N-1 greedy reflections against it, "
                + "the winners' majority).",
                "Without --model it judges with the bundled demo model: a toy judge of sums, differences, comparisons and letter "
                        + "counts (see docs/toy-world.md), not a general judge."})
final class JudgeCommand implements Callable<Integer>, DefaultsToDemoModel {
    @Mixin
    CommonOptions common;

    @Mixin
    JudgeSettings settings;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The user message both responses answer (or --messages).")
    String prompt;

    @Option(names = "--messages", paramLabel = "FILE", description = "A JSON array of {role, content} messages: the conversation both responses continue.")
    Path messages;

    @Option(names = "--a", paramLabel = "TEXT", description = "Response A.")
    String responseA;

    @Option(names = "--b", paramLabel = "TEXT", description = "Response B.")
    String responseB;

    @Option(names = "--input", paramLabel = "FILE", description = "Judge every pair of a JSONL file: {id, prompt|messages, "
            + "response_a, response_b, label?, subset?}, or chosen/rejected records (placed A/B by a seeded coin), or JudgeBench records.")
    Path input;

    @Option(names = "--output", paramLabel = "FILE", description = "With --input: JSONL results, one record per pair, each written whole; "
            + "ids already in FILE are skipped, so a rerun resumes.")
    Path output;

    @Option(names = "--dedupe", description = "With --input: a pair id already seen on an earlier line drops that later line "
            + "(reported with both line numbers) and the first is judged. Without it, a repeated id is an error before any judging.")
    boolean dedupe;

    @Option(names = "--both-orders", description = "Judge (A, B) and (B, A); the combined verdict is the one both orders give, "
            + "the only parseable one if one order is unparseable, and null (status inconsistent) if they disagree.")
    boolean bothOrders;

    @Option(names = "--batch-pairs", paramLabel = "K", defaultValue = "1",
            description = "With --input: judge K pairs at a time, their rollouts as one batch and their reflections as "
                    + "another, which keeps a GPU busier (default ${DEFAULT-VALUE}; on a CPU it gains nothing). Results "
                    + "agree with K = 1 up to float rounding; each record's seconds are its batch's.")
    int batchPairs = 1;

    @Option(names = "--json", description = "Print one JSON object with every analysis, verdict and confidence.")
    boolean json;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write the judgment of the pair as a page: every "
            + "rollout's tokens tinted by log-probability with the lowest --bottom-frac marked, each rollout's verdict and "
            + "confidence, the anchor, each reflection and who won it, the final vote (both orders with --both-orders). "
            + "Self-contained HTML: opens from disk in any browser.")
    Path html;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        common.defaultToDemo(spec.commandLine().getErr());
        // judge --input appends to --output: one run per output file, a second is refused while this one holds it.
        try (OutputLock lock = input != null && output != null ? OutputLock.file(output, "--output") : null) {
            return judge();
        }
    }

    private Integer judge() throws IOException {
        JudgeOptions options = settings.judgeOptions(bothOrders);
        if (batchPairs < 1) {
            throw new BadInputException("--batch-pairs must be at least 1, got " + batchPairs);
        }
        List<ChatMessage> conversation = null;
        if (html != null) {
            if (input != null) {
                throw new BadInputException("--html writes the page of one judged pair, not of a batch: give the pair with "
                        + "--prompt or --messages and --a and --b instead of --input");
            }
            Path folder = html.toAbsolutePath().getParent();
            if (Files.isDirectory(html) || folder == null || !Files.isDirectory(folder)) {
                throw new BadInputException("--html " + html + ": " + (Files.isDirectory(html) ? "is a folder, give a file"
                        : "no folder " + folder + " to write it in"));
            }
        }
        if (input != null) {
            if (prompt != null || messages != null || responseA != null || responseB != null) {
                throw new BadInputException("--input judges a file: do not also give --prompt, --messages, --a or --b");
            }
            if (output == null) {
                throw new BadInputException("--input needs --output FILE for the results");
            }
        } else {
            if ((prompt == null) == (messages == null)) {
                throw new BadInputException(prompt == null ? "judge needs the conversation: give --prompt TEXT or --messages FILE"
                        + " (or --input FILE for a batch)" : "--prompt and --messages are mutually exclusive: give one");
            }
            if (responseA == null || responseB == null) {
                throw new BadInputException("judge needs both responses: --a TEXT and --b TEXT");
            }
            conversation = prompt != null ? List.of(ChatMessage.user(prompt)) : readMessages(messages);
        }
        JudgeBatch.Input pairs = input == null ? null : JudgeBatch.read(input, options.seed(), dedupe, spec.commandLine().getErr());
        ObjectMapper mapper = new ObjectMapper();
        try (ReflectRM rm = openJudge(common, settings, spec.commandLine().getErr())) {
            if (input != null) {
                return new JudgeBatch(this, rm, options, mapper).run(pairs, output);
            }
            Judgment judgment = rm.judge(new Pair(null, conversation, responseA, responseB), options);
            ObjectNode record = mapper.createObjectNode();
            record.put("id", "pair");
            record.setAll(JudgmentJson.record(mapper, judgment));
            if (html != null) {
                AtomicFiles.write(html, rm.html(judgment, options.bottomFraction()).getBytes(StandardCharsets.UTF_8));
                PrintWriter err = spec.commandLine().getErr();
                err.println("wrote " + html);
                err.flush();
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(mapper.writeValueAsString(record));
            } else {
                JudgeSummary.lines(record).forEach(out::println);
            }
            out.flush();
        }
        return 0;
    }

    /** The judge {@code --model} names, on {@code --device}, with the templates of {@code settings}. */
    static ReflectRM openJudge(CommonOptions common, JudgeSettings settings, PrintWriter err) {
        return ReflectRM.builder(common.model).device(common.device).threads(common.threadCount())
                .kvCache(settings.kvCache.type())
                .templateVersion(settings.templates.templateVersion).templateDir(settings.templates.templateDir)
                .notices(err).open();
    }

    private static List<ChatMessage> readMessages(Path file) throws IOException {
        try {
            return ChatMessagesFile.parse(Files.readAllBytes(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new BadInputException("--messages " + file + ": no such file");
        }
    }
}
