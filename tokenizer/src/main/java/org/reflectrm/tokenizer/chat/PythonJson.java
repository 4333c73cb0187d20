package org.reflectrm.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Map;

/**
 * The chat template's {@code tojson} filter as transformers defines it: Python
 * {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}, i.e. separators
 * {@code ", "} and {@code ": "}, keys in their given order, non-ASCII characters unescaped, floats printed with
 * Python's {@code repr} and {@code NaN}/{@code Infinity} allowed.
 */
final class PythonJson {

    private PythonJson() {
    }

    static String dumps(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        write(sb, node);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonNode node) {
        switch (node.getNodeType()) {
            case OBJECT -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<String, JsonNode> e : node.properties()) {
                    if (!first) {
                        sb.append(", ");
                    }
                    first = false;
                    writeString(sb, e.getKey());
                    sb.append(": ");
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case ARRAY -> {
                sb.append('[');
                for (int i = 0; i < node.size(); i++) {
                    if (i > 0) {
                        sb.append(", ");
                    }
                    write(sb, node.get(i));
                }
                sb.append(']');
            }
            case STRING -> writeString(sb, node.textValue());
            case BOOLEAN -> sb.append(node.booleanValue() ? "true" : "false");
            case NULL -> sb.append("null");
            case NUMBER -> {
                if (node.isIntegralNumber()) {
                    sb.append(node.bigIntegerValue());
                } else {
                    // json.loads makes every non-integral JSON number a Python float (a double).
                    sb.append(floatRepr(node.doubleValue()));
                }
            }
            default -> throw new ChatTemplateException(
                    "tojson: JSON node type " + node.getNodeType() + " has no Python json.dumps equivalent");
        }
    }

    /** {@code json.dumps} of a str with {@code ensure_ascii=False}. */
    static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /**
     * Python {@code float.__repr__} (as {@code json.dumps} prints floats): the shortest digit string that reads
     * back as the same double (closest to it when several are equally short), in fixed notation
     * when the decimal exponent {@code decpt} (value = 0.DIGITS &times; 10^decpt) satisfies -4 &lt; decpt &le; 16,
     * else as {@code d[.ddd]e±XX}; plus {@code NaN}, {@code Infinity}, {@code -Infinity} (json.dumps spellings).
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String sign = d < 0 ? "-" : "";
        double x = Math.abs(d);
        // JDK 19+ Double.toString yields the shortest round-tripping decimal (closest one on ties), except that
        // it never uses fewer than 2 significant digits: when a 1-digit decimal round-trips it may print the
        // closest 2-digit one instead (Double.MIN_VALUE -> 4.9E-324, Python 5e-324). Fix that case below.
        BigDecimal bd = new BigDecimal(Double.toString(x)).stripTrailingZeros();
        if (bd.precision() == 2) {
            BigDecimal one = oneDigit(x, bd);
            if (one != null) {
                bd = one;
            }
        }
        String digits = bd.unscaledValue().toString();
        int decpt = digits.length() - bd.scale();
        StringBuilder sb = new StringBuilder(sign);
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt >= digits.length()) {
                sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
            }
        } else {
            int exp = decpt - 1;
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            sb.append('e').append(exp < 0 ? '-' : '+');
            int ae = Math.abs(exp);
            if (ae < 10) {
                sb.append('0');
            }
            sb.append(ae);
        }
        return sb.toString();
    }

    /** A 1-significant-digit decimal that parses back to {@code x}, the closer one if two do; else null. */
    private static BigDecimal oneDigit(double x, BigDecimal twoDigits) {
        BigDecimal down = twoDigits.round(new java.math.MathContext(1, java.math.RoundingMode.FLOOR));
        BigDecimal up = twoDigits.round(new java.math.MathContext(1, java.math.RoundingMode.CEILING));
        BigDecimal exact = new BigDecimal(x);
        BigDecimal best = null;
        for (BigDecimal c : new BigDecimal[] {down, up}) {
            if (c.doubleValue() == x) {
                if (best == null || c.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0) {
                    best = c;
                }
            }
        }
        return best == null ? null : best.stripTrailingZeros();
    }
}
