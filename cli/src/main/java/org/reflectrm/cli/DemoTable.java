package org.reflectrm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.reflectrm.reflect.eval.report.SummaryTable;

/**
 * The toy-scale analog of the paper's Table 1 (accuracy) and Table 5 (positional consistency):
 * one row per system, overall with its 95% interval, then per task.
 */
final class DemoTable {
    private DemoTable() {
    }

    static String of(ObjectMapper mapper, Path out, List<DemoRecipe.System> systems) throws IOException {
        StringBuilder accuracy = new StringBuilder();
        StringBuilder consistency = new StringBuilder();
        Set<String> tasks = new TreeSet<>();
        JsonNode[] summaries = new JsonNode[systems.size()];
        for (int i = 0; i < systems.size(); i++) {
            Path file = out.resolve(systems.get(i).evalDir()).resolve("summary.json");
            summaries[i] = Files.isRegularFile(file) ? mapper.readTree(file.toFile()) : mapper.createObjectNode();
            summaries[i].path("subsets").fieldNames().forEachRemaining(tasks::add);
        }
        String header = header(tasks);
        accuracy.append("Accuracy (Table 1 analog), held-out pairs in both orders, % [95% interval]\n").append(header);
        consistency.append("Positional consistency (Table 5 analog): right in both orders, % [95% interval]\n").append(header);
        for (int i = 0; i < systems.size(); i++) {
            accuracy.append(row(systems.get(i).label(), summaries[i], "accuracy", tasks));
            consistency.append(row(systems.get(i).label(), summaries[i], "positional_consistency", tasks));
        }
        return accuracy.append('\n').append(consistency).toString();
    }

    private static String header(Set<String> tasks) {
        StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "%-32s %6s  %-19s", "system", "pairs", "overall"));
        tasks.forEach(t -> h.append(String.format(Locale.ROOT, " %6s", t)));
        return h.append('\n').toString();
    }

    private static String row(String label, JsonNode summary, String metric, Set<String> tasks) {
        JsonNode overall = summary.path("overall");
        StringBuilder r = new StringBuilder(String.format(Locale.ROOT, "%-32s %6s  %-19s", label,
                overall.has("n") ? Integer.toString(overall.get("n").asInt()) : "-",
                SummaryTable.withInterval(overall.path(metric), overall.path("ci95").path(metric))));
        for (String t : tasks) {
            r.append(String.format(Locale.ROOT, " %6s", SummaryTable.pct(summary.path("subsets").path(t).path(metric))));
        }
        return r.append('\n').toString();
    }
}
