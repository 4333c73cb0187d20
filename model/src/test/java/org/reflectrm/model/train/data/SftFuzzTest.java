package org.reflectrm.model.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.reflectrm.model.BadInputException;

/**
 * Mutated JSONL lines (seeded byte flips, truncations, deletions, insertions of JSON punctuation and of
 * multi-byte/invalid UTF-8): in strict mode the only failure is {@link BadInputException} naming the file and line;
 * in lenient mode every line is kept, blank or skipped-and-counted, and nothing throws.
 */
public class SftFuzzTest {

    static final byte[] PUNCT = "{}[]\":,\\ \n0-enulltrue".getBytes(StandardCharsets.UTF_8);
    static final byte[][] SNIPPETS = {
        "\\u".getBytes(StandardCharsets.UTF_8), "\\ud800".getBytes(StandardCharsets.UTF_8),
        "é".getBytes(StandardCharsets.UTF_8), "🙂".getBytes(StandardCharsets.UTF_8),
        {(byte) 0xC3}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {0},
        "<|im_end|>".getBytes(StandardCharsets.UTF_8), "</think>".getBytes(StandardCharsets.UTF_8),
        "\"role\"".getBytes(StandardCharsets.UTF_8), "\"tool\"".getBytes(StandardCharsets.UTF_8),
        "[[[[".getBytes(StandardCharsets.UTF_8), "1e999999".getBytes(StandardCharsets.UTF_8),
    };

    public static byte[] mutate(byte[] line, Random r) {
        byte[] b = line.clone();
        int ops = 1 + r.nextInt(3);
        for (int op = 0; op < ops && b.length > 0; op++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(6)) {
                case 0 -> b[at] = (byte) r.nextInt(256);                         // random byte
                case 1 -> b[at] = PUNCT[r.nextInt(PUNCT.length)];                // JSON punctuation
                case 2 -> b = java.util.Arrays.copyOf(b, at);                      // truncation
                case 3 -> {                                                        // deletion of a run
                    int len = Math.min(b.length - at, 1 + r.nextInt(8));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> b = insert(b, at, SNIPPETS[r.nextInt(SNIPPETS.length)]);
                default -> b[at] ^= (byte) (1 << r.nextInt(8));                    // bit flip
            }
        }
        return b;
    }

    static byte[] insert(byte[] b, int at, byte[] s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b, 0, at);
        out.write(s, 0, s.length);
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    @Test
    void mutatedLinesOnlyEverGiveBadInput() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        for (String l : Files.readAllLines(SftFixtureTest.resource("data.jsonl"))) {
            seeds.add(l.getBytes(StandardCharsets.UTF_8));
        }
        seeds.add("{\"id\": 3, \"prompt\": \"p\", \"completion\": \"c\"}".getBytes(StandardCharsets.UTF_8));
        seeds.add(("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\","
                + "\"reasoning_content\":\"r\"}]}").getBytes(StandardCharsets.UTF_8));
        SftEncoder enc = SftDatasetTest.ENC;
        SftDataOptions strict = new SftDataOptions(64, SftDataOptions.OverLong.REJECT, true);
        Random r = new Random(20251126L);
        int n = 3000;
        int threw = 0;
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            byte[] m = mutate(seeds.get(r.nextInt(seeds.size())), r);
            try {
                SftDataset.read(m, "fuzz.jsonl", enc, strict);
            } catch (BadInputException e) {
                threw++;
                assertTrue(e.getMessage().startsWith("fuzz.jsonl line "), e.getMessage());
                assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            } catch (RuntimeException | Error e) {
                fail("mutation " + i + " (" + new String(m, StandardCharsets.ISO_8859_1) + ") threw " + e, e);
            }
            for (byte x : m) {
                all.write(x == '\n' ? ' ' : x); // keep one record per line for the lenient pass
            }
            all.write('\n');
        }
        assertTrue(threw > n / 2, "most mutations should be rejected, got " + threw);
        SftDataset ds = SftDataset.read(all.toByteArray(), "fuzz.jsonl", enc,
                new SftDataOptions(64, SftDataOptions.OverLong.REJECT, false));
        SftDataStats s = ds.stats();
        assertEquals(n, s.linesRead());
        assertEquals(n, s.examplesKept() + s.skipped() + s.blankLines(), s.summary());
        assertTrue(s.malformed() > 0 && s.examplesKept() > 0, s.summary());
        for (SftExample e : ds.examples()) {
            assertTrue(e.length() <= 64 && e.targetCount() > 0);
        }
    }
}
