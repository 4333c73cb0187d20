package org.reflectrm.reflect.eval.metrics;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** summary.json writing helpers: an undefined rate ({@code NaN}) is written as null. */
final class Json {
    private Json() {
    }

    static void putRate(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) {
            o.putNull(key);
        } else {
            o.put(key, v);
        }
    }

    /** [low, high], or null when there is no interval (no bootstrap, or undefined on every resample). */
    static void putInterval(ObjectNode o, String key, double[] lowHigh) {
        if (lowHigh == null || Double.isNaN(lowHigh[0])) {
            o.putNull(key);
            return;
        }
        ArrayNode a = o.putArray(key);
        a.add(lowHigh[0]);
        a.add(lowHigh[1]);
    }
}
