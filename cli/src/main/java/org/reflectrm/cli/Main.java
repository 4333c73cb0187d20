package org.reflectrm.cli;

import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.reflectrm.model.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code reflectrm-j}: parses the command line and maps failures to exit codes. */
@Command(name = "reflectrm-j", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Qwen3 in pure Java: inference, fine-tuning and ReflectRM judging.",
        subcommands = {InfoCommand.class, LogitsCommand.class, GenerateCommand.class, TokenizeCommand.class,
                ChatTemplateCommand.class, InitCommand.class, EvalCommand.class, DemoCommand.class, BenchCommand.class, GradCommand.class, TrainCommand.class, DataCommand.class, MergeLoraCommand.class, QuantizeCommand.class, BenchTrainCommand.class, JudgeCommand.class, BenchJudgeCommand.class, DevicesCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** Exit code for bad usage or bad input. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit code for a failure at run time. */
    public static final int EXIT_FAILURE = 1;

    /** What commands that read standard input ({@code --jsonl -}) read. */
    private final InputStream stdin;

    private Main(InputStream stdin) {
        this.stdin = stdin;
    }

    InputStream stdin() {
        return stdin;
    }

    public static void main(String[] args) {
        // Text (decoded tokens, chat prompts, JSON) is written as UTF-8 whatever the platform's default.
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = run(args, System.in, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line with the given streams; returns the exit code. For tests too. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], PrintWriter, PrintWriter)} with {@code in} as standard input. */
    public static int run(String[] args, InputStream in, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main(in));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            if (verbose) {
                e.printStackTrace(err);
            }
            // Whatever a command wrote before failing (streamed text, answered JSONL lines) is kept.
            out.flush();
            if (e instanceof BadInputException || e instanceof IllegalArgumentException) {
                err.println("reflectrm-j: error: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
            err.println("reflectrm-j: failed: " + describe(e) + (verbose ? "" : " (run with --verbose for the stack trace)"));
            return EXIT_FAILURE;
        });
        cli.setExecutionStrategy(Main::requireModelThenRun);
        return cli.execute(args);
    }

    /**
     * A failure in words: a file-system error names the file and the reason ("/out/x.lock: Read-only
     * file system"), a plain IOException's message is the whole story (RecordAppender's names the
     * file and what was kept); other exceptions keep their class name, which says what kind of
     * failure it was.
     */
    static String describe(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException f) {
            return "cannot find " + f.getFile();
        }
        if (e instanceof java.nio.file.AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getFile() != null && f.getReason() != null) {
            return f.getFile() + ": " + f.getReason();
        }
        return e.getClass() == java.io.IOException.class && e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /**
     * {@code --model} is optional in the shared options so that some commands can default to the
     * demo judge; every other command gets picocli's usual error when it is missing.
     */
    private static int requireModelThenRun(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult last = parsed;
        boolean help = parsed.isUsageHelpRequested() || parsed.isVersionHelpRequested();
        while (last.hasSubcommand()) {
            last = last.subcommand();
            help |= last.isUsageHelpRequested() || last.isVersionHelpRequested();
        }
        CommandLine.Model.CommandSpec command = last.commandSpec();
        if (!help && command.findOption("--model") != null && !last.hasMatchedOption("--model")
                && !(command.userObject() instanceof DefaultsToDemoModel)
                && command.mixins().values().stream().anyMatch(m -> m.userObject() instanceof CommonOptions)) {
            throw new CommandLine.ParameterException(last.commandSpec().commandLine(),
                    "Missing required option: '--model=DIR'");
        }
        return new CommandLine.RunLast().execute(parsed);
    }
}
