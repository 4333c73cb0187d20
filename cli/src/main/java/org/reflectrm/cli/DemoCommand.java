package org.reflectrm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code reflectrm-j demo}: the toy world the bundled demo judge is trained in (see docs/toy-world.md). */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The toy world of the demo judge: its data and tokenizer (demo data), and the whole recipe that trains and evaluates it (demo reproduce).",
        subcommands = {DemoDataCommand.class, DemoReproduceCommand.class, CommandLine.HelpCommand.class})
final class DemoCommand {
}
