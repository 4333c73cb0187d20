package org.reflectrm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code reflectrm-j train}: the training commands. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Fine-tune a model: sft (supervised) or grpo (ReflectRM's GRPO with the verdict reward).",
        subcommands = {SftCommand.class, GrpoCommand.class, CommandLine.HelpCommand.class})
final class TrainCommand {
}
