package org.reflectrm.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * How the settings a resumable run was started with differ from a rerun's ("lr was 0.001, now
 * 0.002"), so that a resume with other settings is refused naming what changed.
 */
public final class SettingsDiff {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SettingsDiff() {
    }

    /** The differing keys of two flat JSON objects, one phrase each; empty when they are the same settings. */
    public static List<String> between(JsonNode saved, JsonNode now) {
        JsonNode current;
        try {
            // Round-trip through text so that numbers compare by value, not by node type (int vs long).
            current = JSON.readTree(JSON.writeValueAsString(now));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        List<String> diffs = new ArrayList<>();
        current.fieldNames().forEachRemaining(k -> {
            if (!current.get(k).equals(saved.get(k))) {
                diffs.add(k + " was " + saved.get(k) + ", now " + current.get(k));
            }
        });
        saved.fieldNames().forEachRemaining(k -> {
            if (!current.has(k)) {
                diffs.add(k + " was " + saved.get(k) + ", now unset");
            }
        });
        return diffs;
    }
}
