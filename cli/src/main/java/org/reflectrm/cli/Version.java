package org.reflectrm.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest, or "dev" when run from classes. */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"reflectrm-j " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
    }
}
