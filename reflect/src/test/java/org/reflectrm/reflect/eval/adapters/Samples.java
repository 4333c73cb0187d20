package org.reflectrm.reflect.eval.adapters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.reflectrm.reflect.eval.Comparison;
import org.reflectrm.tokenizer.chat.ChatMessage;

/** The committed samples under {@code src/test/resources/eval/} and small helpers over comparisons. */
final class Samples {
    /** Every sample with the benchmark it is in. */
    static final List<String[]> ALL = List.of(
            new String[] {"judgebench.jsonl", "judgebench"},
            new String[] {"rm-bench_total_dataset.json", "rm-bench"},
            new String[] {"code_filtered.json", "rm-bench"},
            new String[] {"rmb_pairwise.json", "rmb"},
            new String[] {"rmb_bon.json", "rmb"},
            new String[] {"rewardbench.jsonl", "rewardbench"},
            new String[] {"rewardbench2.jsonl", "rewardbench2"},
            new String[] {"ppe.jsonl", "ppe"},
            new String[] {"helpsteer3.jsonl", "helpsteer3"},
            new String[] {"pairs.jsonl", "pairs"});

    private Samples() {
    }

    static Path path(String name) throws Exception {
        return Path.of(Samples.class.getResource("/eval/" + name).toURI());
    }

    static byte[] bytes(String name) throws Exception {
        return Files.readAllBytes(path(name));
    }

    static BenchmarkFiles.Loaded load(String name, long seed) throws Exception {
        return BenchmarkFiles.read(path(name), null, seed);
    }

    /** The better response, wherever the comparison placed it. */
    static String better(Comparison c) {
        return c.label().equals("A") ? c.responseA() : c.responseB();
    }

    static String worse(Comparison c) {
        return c.label().equals("A") ? c.responseB() : c.responseA();
    }

    static List<String> roles(Comparison c) {
        return c.conversation().stream().map(ChatMessage::role).toList();
    }

    static String lastTurn(Comparison c) {
        return c.conversation().getLast().content();
    }
}
