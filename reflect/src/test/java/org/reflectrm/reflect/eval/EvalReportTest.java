package org.reflectrm.reflect.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.reflectrm.reflect.eval.report.EvalReport;
import org.reflectrm.reflect.eval.report.Svg;
import org.reflectrm.reflect.eval.report.SummaryTable;
import org.w3c.dom.Document;

/** The report's charts are well-formed SVG with the data in them, and names from the data are escaped. */
class EvalReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void chartsAreWellFormedAndEscapeTheirLabels() throws Exception {
        String scatter = Svg.scatter("a <b> & c", "x", "y", List.of(new Svg.Point("run \"1\" <x>", 0.25, 0.75)));
        Document d = parse(scatter);
        assertEquals(1, d.getElementsByTagName("circle").getLength());
        assertTrue(scatter.contains("(0.250, 0.750)"));
        parse(Svg.bars("slots", "rate", List.of(new Svg.Bar("A&B", 0.6, 0.5, 0.7), new Svg.Bar("b", 0.4, Double.NaN, Double.NaN)), 0.5));
        Document h = parse(Svg.histogram("conf", "c", new double[] {-3, -2, -1, 0},
                List.of(new Svg.Series("correct", "#0a0", new int[] {1, 5, 2}), new Svg.Series("wrong", "#a00", new int[] {4, 1, 0}))));
        assertEquals(6 + 2, h.getElementsByTagName("rect").getLength(), "six bins and two legend keys");
    }

    @Test
    void theReportHoldsEachRunsTableAndOfficialScore() throws Exception {
        JsonNode summary = JSON.readTree("""
                {"overall": {"n": 10, "accuracy": 0.7, "positional_consistency": 0.5, "first_slot_rate": 0.6,
                  "ci95": {"accuracy": [0.55, 0.85]}},
                 "subsets": {"math": {"n": 4, "accuracy": 0.5, "positional_consistency": 0.25, "first_slot_rate": 0.5}},
                 "judgebench_score": 0.6, "judgebench_score_ci95": [0.4, 0.8],
                 "reflect": {"decided_by": {"winners": {"count": 6, "rate": 0.6}, "fallback": {"count": 4, "rate": 0.4}}},
                 "confidence": {"edges": [-2, -1, 0], "rollouts": {"correct": [1, 3], "wrong": [2, 0]}}}""");
        String html = EvalReport.html(List.of(new EvalReport.Run("run<1>", JSON.readTree("{\"mode\": \"reflect\"}"), summary)));
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertTrue(html.contains("run&lt;1&gt;"));
        assertFalse(html.contains("run<1>"));
        assertTrue(html.contains("70.0 [55.0, 85.0]"), "accuracy with its interval");
        assertTrue(html.contains("JudgeBench score (counter &gt; 0 over pairs): 60.0 [40.0, 80.0]"));
        assertTrue(html.contains("Reflect: what decided"));
        assertTrue(html.contains("Rollout confidence"));
        assertFalse(html.contains("<script"), "no script: nothing to fail or fetch");
        String table = SummaryTable.of(summary);
        assertTrue(table.contains("overall") && table.contains("math") && table.contains("JudgeBench score"), table);
    }
}
