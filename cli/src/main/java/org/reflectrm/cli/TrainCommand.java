package org.reflectrm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code reflectrm-j train}: the training commands. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Fine-tune a model (see the subcommands).",
        subcommands = {SftCommand.class, CommandLine.HelpCommand.class})
final class TrainCommand {
}
