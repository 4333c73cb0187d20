package org.reflectrm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The scan used for short words and the heap used for long ones apply merges in the same order (lowest
 * rank, then leftmost), so the cut-off between them cannot change any result. HF parity of the whole
 * pipeline is tested elsewhere; this pins the two loops to each other on words of every length.
 */
class BpeMergeTest {
    @Test
    void scanAndHeapMergeAlike() {
        BpeModel bpe = Fixtures.qwen3().bpe();
        List<JsonNode> corpus = Fixtures.jsonLinesGz("qwen3/corpus.jsonl.gz");
        SplittableRandom random = new SplittableRandom(11);
        for (int n = 0; n < 200_000; n++) {
            byte[] text = corpus.get(random.nextInt(corpus.size())).get("text").textValue()
                    .getBytes(StandardCharsets.UTF_8);
            if (text.length == 0) {
                continue;
            }
            int length = 1 + random.nextInt(Math.min(text.length, 1 + random.nextInt(60)));
            int start = random.nextInt(text.length - length + 1);
            byte[] word = java.util.Arrays.copyOfRange(text, start, start + length);
            if (random.nextInt(4) == 0) {
                for (int i = 0; i < word.length; i++) {
                    word[i] = (byte) "aaab  e\n".charAt(random.nextInt(8)); // runs of repeated pairs
                }
            }
            int[] symbols = bpe.byteSymbols(word);
            assertArrayEquals(bpe.mergeWithHeap(symbols.clone()), bpe.mergeShort(symbols.clone()));
        }
    }
}
