package org.reflectrm.reflect.eval.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Metrics#summarize} against the numbers the benchmarks' own scoring logic gives on
 * hand-designed judgment records ({@code src/test/python/make_metric_fixtures.py}: JudgeBench's
 * {@code compute_final_metrics}, RM-Bench's {@code compute_accuracy} and RM-R1's generative
 * variant, RM-R1's RMB pairwise and best-of-N scoring, and the paper's metrics from their
 * definitions).
 */
class MetricsFixtureTest {

    static Stream<Arguments> cases() throws Exception {
        JsonNode fixture = new ObjectMapper().readTree(
                MetricsFixtureTest.class.getResourceAsStream("/eval/metric-fixtures.json"));
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : fixture.get("cases")) {
            out.add(Arguments.of(c.get("name").asText(), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesTheOfficialScoring(String name, JsonNode c) {
        List<JsonNode> judgments = new ArrayList<>();
        c.get("judgments").forEach(judgments::add);
        JsonNode summary = Metrics.summarize(c.get("benchmark").asText(), judgments, 11, 200);
        Iterator<Map.Entry<String, JsonNode>> it = c.get("expected").fields();
        int checked = 0;
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode got = summary.at(e.getKey());
            assertFalse(got.isMissingNode(), name + ": summary.json has no " + e.getKey());
            if (e.getValue().isNull()) {
                assertTrue(got.isNull(), name + ": " + e.getKey() + " should be null, got " + got);
            } else {
                assertTrue(got.isNumber(), name + ": " + e.getKey() + " should be a number, got " + got);
                assertEquals(e.getValue().asDouble(), got.asDouble(), 1e-12, name + ": " + e.getKey());
            }
            checked++;
        }
        assertTrue(checked > 0, name + ": nothing to check");
    }
}
