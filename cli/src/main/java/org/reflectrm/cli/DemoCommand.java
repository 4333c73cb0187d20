package org.reflectrm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code reflectrm-j demo}: the toy world the bundled demo judge is trained in (see docs/toy-world.md). */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The toy world of the demo judge: its data and tokenizer (more of its pipeline is to come).",
        subcommands = {DemoDataCommand.class, CommandLine.HelpCommand.class})
final class DemoCommand {
}
