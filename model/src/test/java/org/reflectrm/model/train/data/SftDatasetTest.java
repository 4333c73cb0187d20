package org.reflectrm.model.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.reflectrm.model.BadInputException;

/** Line handling, error messages, statistics, truncation and rejection. */
class SftDatasetTest {

    static final SftEncoder ENC = new SftEncoder(SftFixtureTest.TOK, SftFixtureTest.TEMPLATE);
    static final String GOOD = "{\"prompt\": \"Hi\", \"completion\": \"Hello there.\"}";

    static SftDataset read(String text, SftDataOptions opts) {
        return SftDataset.read(text.getBytes(StandardCharsets.UTF_8), "data.jsonl", ENC, opts);
    }

    static String strictError(String line) {
        String text = GOOD + "\n" + line + "\n";
        return assertThrows(BadInputException.class,
                () -> read(text, new SftDataOptions(4096, SftDataOptions.OverLong.TRUNCATE, true))).getMessage();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}, {\"role\": \"user\"}]}"
            + " | \"messages\"[2] has no \"content\"",
        "{\"messages\": [{\"role\": \"user\", \"content\": 5}]} | \"messages\"[0] \"content\" must be a string, got a number",
        "{\"messages\": [{\"role\": \"user\", \"content\": null}]} | \"messages\"[0] \"content\" must be a string, got null",
        "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}"
            + " | \"messages\"[0] has unknown role \"bot\"; SFT data takes system, user and assistant messages",
        "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]} | \"messages\"[0] has unknown role \"tool\"",
        "{\"messages\": [{\"content\": \"x\"}]} | \"messages\"[0] has no \"role\"",
        "{\"messages\": [{\"role\": 1, \"content\": \"x\"}]} | \"messages\"[0] \"role\" must be a string, got a number",
        "{\"messages\": [\"hi\"]} | \"messages\"[0] must be an object {\"role\", \"content\"}, got a string",
        "{\"messages\": []} | \"messages\" is empty",
        "{\"messages\": {}} | \"messages\" must be a list of {\"role\", \"content\"} objects, got an object",
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": []}]}"
            + " | \"messages\"[0] has \"tool_calls\", which SFT data does not support",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"reasoning_content\": \"r\"}]}"
            + " | \"messages\"[0] (user) has \"reasoning_content\"; only assistant messages may have it",
        "{\"prompt\": \"a\"} | the record has no \"completion\"",
        "{\"completion\": \"a\"} | the record has no \"prompt\"",
        "{\"prompt\": [\"a\"], \"completion\": \"b\"} | \"prompt\" must be a string, got a list",
        "{\"prompt\": \"a\", \"completion\": \"b\", \"messages\": []} | has both \"messages\" and \"prompt\"/\"completion\"",
        "{\"text\": \"a\"} | has neither \"messages\" nor \"prompt\" and \"completion\"",
        "[1, 2] | expected a JSON object {\"messages\": [...]} or {\"prompt\", \"completion\"}, got a list",
        "\"just text\" | expected a JSON object",
        "{\"prompt\": \"a\", \"completion\": \"b\"} x | not valid JSON",
        "{\"prompt\": \"a\", \"completion\": \"b\" | not valid JSON at column",
        "{\"prompt\": \"a\", \"prompt\": \"b\", \"completion\": \"c\"} | not valid JSON at column 25: Duplicate field 'prompt'",
        "{\"id\": [1], \"prompt\": \"a\", \"completion\": \"b\"} | \"id\" must be a string or an integer, got a list",
        "{\"prompt\": \"a\\ud800b\", \"completion\": \"b\"} | \"prompt\" holds an unpaired surrogate \\uD800 at character 1",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}"
            + " | has no assistant message, so nothing to train on",
    })
    void strictErrorsNameFileLineAndProblem(String line, String expected) {
        String msg = strictError(line.strip());
        assertTrue(msg.startsWith("data.jsonl line 2: " + expected), msg);
    }

    @Test
    void invalidUtf8IsReportedWithItsLine() throws Exception {
        byte[] good = (GOOD + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] bad = "{\"prompt\": \"a\u00e9\", \"completion\": \"b\"}\n".getBytes(StandardCharsets.UTF_8);
        bad[13] = (byte) 0xC3; // first byte of "é" kept, second replaced by an ASCII byte
        bad[14] = 'x';
        byte[] all = new byte[good.length * 2 + bad.length];
        System.arraycopy(good, 0, all, 0, good.length);
        System.arraycopy(bad, 0, all, good.length, bad.length);
        System.arraycopy(good, 0, all, good.length + bad.length, good.length);
        BadInputException e = assertThrows(BadInputException.class, () -> SftDataset.read(all, "d.jsonl", ENC,
                new SftDataOptions(100, SftDataOptions.OverLong.TRUNCATE, true)));
        assertEquals("d.jsonl line 2: not valid UTF-8: byte 0xC3 at byte 14 of the line", e.getMessage());
        SftDataset ds = SftDataset.read(all, "d.jsonl", ENC, SftDataOptions.lenient(100));
        assertEquals(2, ds.examples().size());
        assertEquals(1, ds.stats().malformed());
        assertEquals(2, ds.stats().problems().getFirst().line());
    }

    @Test
    void blankLinesCrlfAndBomAreAccepted() {
        String text = "\uFEFF" + GOOD + "\r\n\r\n   \n" + GOOD + "\r\n\n" + GOOD;
        SftDataset ds = read(text, new SftDataOptions(4096, SftDataOptions.OverLong.REJECT, true));
        assertEquals(3, ds.examples().size());
        assertEquals(6, ds.stats().linesRead());
        assertEquals(3, ds.stats().blankLines());
        assertEquals(List.of("line 1", "line 4", "line 6"), ds.examples().stream().map(SftExample::id).toList());
        assertArrayEquals(ds.examples().get(0).tokens(), ds.examples().get(2).tokens());
    }

    @Test
    void lenientModeSkipsCountsAndListsFirstProblems() {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= 30; i++) {
            sb.append(i % 2 == 0 ? GOOD : "{bad json").append('\n');
        }
        sb.append("{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n");
        SftDataset ds = read(sb.toString(), SftDataOptions.lenient(4096));
        SftDataStats s = ds.stats();
        assertEquals(31, s.linesRead());
        assertEquals(15, s.examplesKept());
        assertEquals(15, s.malformed());
        assertEquals(1, s.noLossTokens());
        assertEquals(16, s.skipped());
        assertEquals(SftDataStats.MAX_PROBLEMS, s.problems().size());
        assertEquals(List.of(1, 3, 5, 7, 9, 11, 13, 15, 17, 19),
                s.problems().stream().map(SftDataStats.Problem::line).toList());
        assertTrue(s.summary().contains("15 malformed"), s.summary());
        assertTrue(s.summary().contains("line 3: not valid JSON"), s.summary());
        assertTrue(s.summary().contains("... and 6 more"), s.summary());
    }

    @Test
    void idFieldNamesTheExample() {
        SftDataset ds = read("{\"id\": \"abc\", \"prompt\": \"a\", \"completion\": \"b\"}\n"
                + "{\"id\": 12345678901234567890, \"prompt\": \"a\", \"completion\": \"b\"}\n"
                + "{\"id\": null, \"prompt\": \"a\", \"completion\": \"b\"}", SftDataOptions.lenient(100));
        assertEquals(List.of("abc", "12345678901234567890", "line 3"),
                ds.examples().stream().map(SftExample::id).toList());
    }

    @Test
    void truncateKeepsPrefixAndCounts() {
        SftExample full = ENC.encode("x", List.of(
                org.reflectrm.tokenizer.chat.ChatMessage.user("Hi"),
                org.reflectrm.tokenizer.chat.ChatMessage.assistant("Hello there.", "")));
        int len = full.length();
        SftDataset ds = read(GOOD, SftDataOptions.lenient(len - 3));
        SftExample ex = ds.examples().getFirst();
        assertArrayEquals(Arrays.copyOf(full.tokens(), len - 3), ex.tokens());
        assertArrayEquals(Arrays.copyOf(full.lossMask(), len - 3), ex.lossMask());
        assertEquals(1, ds.stats().truncated());
        // exactly maxLen: untouched
        SftDataset same = read(GOOD, SftDataOptions.lenient(len));
        assertEquals(0, same.stats().truncated());
        assertArrayEquals(full.tokens(), same.examples().getFirst().tokens());
    }

    @Test
    void truncationThatLeavesNoTargetSkipsTheExample() {
        // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" is 9 tokens; the first target is token 9
        SftDataset ds = read(GOOD + "\n" + GOOD, SftDataOptions.lenient(9));
        assertEquals(0, ds.examples().size());
        assertEquals(2, ds.stats().noLossTokens());
        assertEquals(0, ds.stats().truncated());
        assertEquals(SftDataStats.Kind.NO_LOSS_TOKENS, ds.stats().problems().getFirst().kind());
        assertTrue(ds.stats().problems().getFirst().message().startsWith("no assistant token within the first 9 of"),
                ds.stats().problems().getFirst().message());
        SftDataset ten = read(GOOD, SftDataOptions.lenient(10));
        assertEquals(1, ten.examples().getFirst().targetCount());
    }

    @Test
    void rejectSkipsOrFailsWhenStrict() {
        String text = GOOD + "\n{\"prompt\": \"" + "word ".repeat(50) + "\", \"completion\": \"x\"}\n" + GOOD;
        SftDataset ds = read(text, new SftDataOptions(40, SftDataOptions.OverLong.REJECT, false));
        assertEquals(2, ds.examples().size());
        assertEquals(1, ds.stats().rejectedTooLong());
        assertEquals(SftDataStats.Kind.TOO_LONG, ds.stats().problems().getFirst().kind());
        BadInputException e = assertThrows(BadInputException.class,
                () -> read(text, new SftDataOptions(40, SftDataOptions.OverLong.REJECT, true)));
        assertTrue(e.getMessage().matches("data\\.jsonl line 2: has \\d+ tokens, more than the maximum length 40"),
                e.getMessage());
    }

    @Test
    void loadNamesMissingFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nope.jsonl");
        BadInputException e = assertThrows(BadInputException.class, () -> SftDataset.load(missing,
                SftFixtureTest.TOK, SftFixtureTest.TEMPLATE, SftDataOptions.lenient(10)));
        assertEquals(missing + ": no such file", e.getMessage());
        Path f = dir.resolve("data.jsonl");
        Files.writeString(f, GOOD + "\n{\"messages\": [{\"role\": \"user\"}]}\n");
        e = assertThrows(BadInputException.class, () -> SftDataset.load(f, SftFixtureTest.TOK,
                SftFixtureTest.TEMPLATE, new SftDataOptions(100, SftDataOptions.OverLong.TRUNCATE, true)));
        assertEquals(f + " line 2: \"messages\"[0] has no \"content\"", e.getMessage());
    }

    @Test
    void optionsAreValidated() {
        assertThrows(BadInputException.class, () -> SftDataOptions.lenient(1));
    }
}
