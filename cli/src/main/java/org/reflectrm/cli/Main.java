package org.reflectrm.cli;

import java.io.PrintWriter;
import org.reflectrm.model.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code reflectrm-j}: parses the command line and maps failures to exit codes. */
@Command(name = "reflectrm-j", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Qwen3 in pure Java: inference, fine-tuning and ReflectRM judging.",
        subcommands = {InfoCommand.class, LogitsCommand.class, GenerateCommand.class, InitCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** Exit code for bad usage or bad input. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit code for a failure at run time. */
    public static final int EXIT_FAILURE = 1;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line with the given streams; returns the exit code. For tests too. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean verbose = parseResult.hasMatchedOption("--verbose")
                    || parseResult.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"));
            if (verbose) {
                e.printStackTrace(err);
            }
            if (e instanceof BadInputException || e instanceof IllegalArgumentException) {
                err.println("reflectrm-j: error: " + e.getMessage());
                return EXIT_BAD_INPUT;
            }
            err.println("reflectrm-j: failed: " + e + (verbose ? "" : " (run with --verbose for the stack trace)"));
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }
}
