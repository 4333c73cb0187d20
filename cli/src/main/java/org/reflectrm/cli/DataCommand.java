package org.reflectrm.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code reflectrm-j data}: ReflectRM's self-sampled training data. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "ReflectRM training data: sample the judge on labelled pairs (data sample), then build "
                + "Pref/Refl GRPO records or rejection-sampling SFT data from the samples (data build).",
        subcommands = {DataSampleCommand.class, DataBuildCommand.class, CommandLine.HelpCommand.class})
final class DataCommand {
}
