package org.reflectrm.reflect.data;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.reflectrm.model.BadInputException;

/**
 * The Pref:Refl mix of a training file, {@code P:R} in positive integers ({@code 4:1}: four
 * response-preference records per self-reflection record). Records are never invented, so the
 * mix is the largest that the candidates allow, cut from the larger side only.
 */
public record Ratio(int pref, int refl) {
    public static final String OPTION = "--pref-refl-ratio";
    private static final Pattern FORM = Pattern.compile("\\s*(\\d{1,9})\\s*:\\s*(\\d{1,9})\\s*");

    /** How many of each to keep. */
    public record Mix(int pref, int refl) {
    }

    public Ratio {
        if (pref < 1 || refl < 1) {
            throw new BadInputException(OPTION + " " + pref + ":" + refl + ": both parts must be positive integers"
                    + (refl == 0 ? " (for Pref records only, use --pref-only)" : ""));
        }
    }

    /** Parses {@code P:R}. */
    public static Ratio parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new BadInputException(OPTION + " '" + text + "': expected P:R with positive integers, e.g. 4:1");
        }
        return new Ratio(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    /**
     * The mix of {@code p} Pref and {@code r} Refl candidates: {@code min(p, floor(r·P/R))} Pref
     * and {@code min(r, floor(p·R/P))} Refl, so at most one side is cut and the kept records
     * are as close to P:R as the smaller side allows.
     *
     * @throws BadInputException when the mix would keep no record of one side
     */
    public Mix mix(int p, int r) {
        int keepPref = (int) Math.min(p, (long) r * pref / refl);
        int keepRefl = (int) Math.min(r, (long) p * refl / pref);
        if (keepPref == 0 || keepRefl == 0) {
            throw new BadInputException(OPTION + " " + this + ": impossible with " + p + " Pref and " + r
                    + " Refl candidates: the mix would keep no " + (keepPref == 0 ? "Pref" : "Refl")
                    + " record (it needs at least " + pref + " Pref per " + refl + " Refl)");
        }
        return new Mix(keepPref, keepRefl);
    }

    @Override
    public String toString() {
        return pref + ":" + refl;
    }
}
