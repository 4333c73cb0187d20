package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One tokenizer shared by many threads gives the same ids as HF; the bounded word cache stays bounded. */
class ConcurrencyTest {

    @Test
    void concurrentEncodingMatchesHf() throws Exception {
        Tokenizer tok = Fixtures.qwen3();
        List<JsonNode> corpus = Fixtures.jsonLinesGz("qwen3/corpus.jsonl.gz");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int offset = t * 97;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < corpus.size(); i++) {
                        JsonNode row = corpus.get((i + offset) % corpus.size());
                        String text = row.get("text").textValue();
                        assertArrayEquals(Fixtures.ints(row.get("ids")), tok.encode(text));
                        assertArrayEquals(Fixtures.ints(row.get("untrusted")), tok.encodeUntrusted(text));
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void wordCacheStaysBoundedUnderConcurrentUse() throws Exception {
        WordCache cache = new WordCache(100);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int base = t * 1_000_000;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 50_000; i++) {
                        String word = "w" + (base + i);
                        int hash = WordCache.hash(word, 0, word.length());
                        cache.put(word, hash, new int[] {base + i});
                        // Look up a recent word of this thread: a miss is fine, a wrong answer is not.
                        String probe = "xw" + (base + i / 2);
                        int[] got = cache.get(probe, 1, probe.length(), WordCache.hash(probe, 1, probe.length()));
                        assertTrue(got == null || got[0] == base + i / 2);
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertTrue(cache.capacity() == 128 && cache.size() <= 128, "cache holds " + cache.size());
    }
}
