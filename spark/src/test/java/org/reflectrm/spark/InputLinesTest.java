package org.reflectrm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cutting the input into partitions: ranges of lines, each good line in exactly one, the same every time. */
class InputLinesTest {
    @TempDir
    Path tmp;

    @Test
    void partitionsAreLineRangesCoveringEveryGoodLineOnce() throws Exception {
        List<String> text = new ArrayList<>();
        for (int i = 1; i <= 23; i++) {
            text.add(i % 7 == 0 ? "" : i % 5 == 0 ? "{bad" : "{\"id\": \"x" + i + "\", \"prompt\": \"q\", \"response_a\": \"a\", \"response_b\": \"b\"}");
        }
        Path file = tmp.resolve("in.jsonl");
        Files.write(file, text);
        InputLines in = InputLines.read(file, Format.JSONL, 0, false, new PrintWriter(Writer.nullWriter()), LocalSpark::get);
        assertEquals(4, in.malformed());
        for (int n : new int[] {1, 2, 3, 7, 23, 40}) {
            List<List<InputLines.Line>> parts = in.partitions(n);
            assertEquals(n, parts.size());
            List<InputLines.Line> all = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                for (InputLines.Line line : parts.get(p)) {
                    long index = line.number() - 1;
                    assertTrue(index >= (long) p * in.lines() / n && index < (long) (p + 1) * in.lines() / n,
                            "line " + line.number() + " in partition " + p + " of " + n);
                }
                all.addAll(parts.get(p));
            }
            assertEquals(in.good(), all, "every good line once, in order, for " + n);
            assertEquals(parts, in.partitions(n), "the same cut again");
        }
    }
}
