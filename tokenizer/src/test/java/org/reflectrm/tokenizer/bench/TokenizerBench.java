package org.reflectrm.tokenizer.bench;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import org.reflectrm.tokenizer.Tokenizer;

/**
 * Encode throughput and load time of {@link Tokenizer} on one thread; the peer is tokenizer/bench/hf_bench.py
 * and tokenizer/bench/compare.sh runs both on the same corpus. A benchmark, not a test: it prints, never asserts
 * (except that the ids equal HF's, through the checksum that compare.sh compares).
 *
 * <p>Usage: {@code TokenizerBench TOKENIZER_DIR CORPUS.jsonl [PASSES]}
 */
public final class TokenizerBench {
    private TokenizerBench() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: TokenizerBench TOKENIZER_DIR CORPUS.jsonl [PASSES]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 5;

        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizer.load(dir);
        double firstLoadMs = (System.nanoTime() - t0) / 1e6;

        List<String> texts = readCorpus(Path.of(args[1]));
        long bytes = 0;
        for (String s : texts) {
            bytes += s.getBytes(StandardCharsets.UTF_8).length;
        }
        double megabytes = bytes / 1e6;

        // First pass: the checksum (compare.sh checks it against HF's) and the cold-JIT speed.
        CRC32 crc = new CRC32();
        long tokens = 0;
        t0 = System.nanoTime();
        List<int[]> all = new ArrayList<>(texts.size());
        for (String s : texts) {
            all.add(tok.encode(s));
        }
        double firstPassS = (System.nanoTime() - t0) / 1e9;
        for (int[] ids : all) {
            tokens += ids.length;
            ByteBuffer buf = ByteBuffer.allocate(ids.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            buf.asIntBuffer().put(ids);
            crc.update(buf.array());
        }

        double[] encode = timePasses(passes, () -> {
            for (String s : texts) {
                tok.encode(s);
            }
        });
        double[] untrusted = timePasses(passes, () -> {
            for (String s : texts) {
                tok.encodeUntrusted(s);
            }
        });
        double[] loads = new double[5];
        for (int i = 0; i < loads.length; i++) {
            long t = System.nanoTime();
            Tokenizer.load(dir);
            loads[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(loads);

        System.out.printf("java corpus: %d strings, %.2f MB, %d tokens, ids crc32 %08x%n", texts.size(), megabytes,
                tokens, crc.getValue());
        System.out.printf("java load tokenizer.json: first (cold JVM) %.0f ms, after warm-up median %.0f ms (min %.0f)%n",
                firstLoadMs, loads[loads.length / 2], loads[0]);
        System.out.printf("java encode (1 thread): first pass %.2f MB/s, best %.2f MB/s, median %.2f MB/s%n",
                megabytes / firstPassS, megabytes / encode[0], megabytes / encode[encode.length / 2]);
        System.out.printf("java encodeUntrusted (1 thread): best %.2f MB/s, median %.2f MB/s%n",
                megabytes / untrusted[0], megabytes / untrusted[untrusted.length / 2]);
    }

    /** Seconds per pass, sorted ascending. */
    private static double[] timePasses(int passes, Runnable pass) {
        double[] times = new double[passes];
        for (int i = 0; i < passes; i++) {
            long t = System.nanoTime();
            pass.run();
            times[i] = (System.nanoTime() - t) / 1e9;
        }
        Arrays.sort(times);
        return times;
    }

    private static List<String> readCorpus(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> texts = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    texts.add(json.readValue(line, String.class));
                }
            }
        }
        return texts;
    }
}
