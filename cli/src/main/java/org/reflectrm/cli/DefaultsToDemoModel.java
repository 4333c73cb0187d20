package org.reflectrm.cli;

/**
 * Marks a command whose {@code --model} may be left out: it then uses the bundled demo judge
 * ({@link DemoModel}). Every other command that takes {@code --model} requires it (checked in
 * {@link Main} before the command runs, as picocli would for a required option).
 */
interface DefaultsToDemoModel {
}
