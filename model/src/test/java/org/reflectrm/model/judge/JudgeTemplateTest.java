package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reflectrm.model.BadInputException;
import org.reflectrm.tokenizer.chat.ChatMessage;

/** The versioned prompt templates: bundled v1, folder overrides, single-pass filling. */
class JudgeTemplateTest {

    @Test
    void bundledV1RendersBothPrompts() {
        JudgeTemplate t = JudgeTemplate.bundled("v1");
        assertEquals("v1", t.version());
        String r = t.renderResponse("What is 2+2?", "4", "5");
        assertTrue(r.contains("[Context]\nWhat is 2+2?"), r);
        assertTrue(r.contains("[Response 1]\n4\n\n[Response 2]\n5"), r);
        assertTrue(r.contains("\"Response 1 is better than Response 2\""), r);
        String a = t.renderAnalysis("q", "r1", "r2", "c1", "c2");
        assertTrue(a.contains("[Critique 1]\nc1\n\n[Critique 2]\nc2"), a);
        assertTrue(a.contains("\"Critique 2 is better than Critique 1\""), a);
        assertThrows(BadInputException.class, () -> JudgeTemplate.bundled("v9"));
    }

    @Test
    void judgedTextIsInsertedOnceAndNeverReinterpreted() {
        JudgeTemplate t = JudgeTemplate.bundled("v1");
        String r = t.renderResponse("{response_2}", "{context} and {critique_1}", "$1 \\n");
        assertTrue(r.contains("[Context]\n{response_2}\n"), r);
        assertTrue(r.contains("[Response 1]\n{context} and {critique_1}\n"), r);
        assertTrue(r.contains("[Response 2]\n$1 \\n"), r);
    }

    @Test
    void conversationsRenderTurnByTurn() {
        assertEquals("just a question", JudgeTemplate.context(List.of(ChatMessage.user("just a question"))));
        String multi = JudgeTemplate.context(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"),
                ChatMessage.assistant("Hello."), ChatMessage.user("Name a prime.")));
        assertEquals("[System]\nBe brief.\n\n[User]\nHi\n\n[Assistant]\nHello.\n\n[User]\nName a prime.", multi);
    }

    @Test
    void templateFoldersAreCheckedByName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("version.txt"), "house-v2\n");
        Files.writeString(dir.resolve("response.txt"), "Q: {context}\nA: {response_1}\nB: {response_2}\n");
        Files.writeString(dir.resolve("analysis.txt"), "{context} {response_1} {response_2} {critique_1} {critique_2}");
        JudgeTemplate t = JudgeTemplate.fromDir(dir);
        assertEquals("house-v2", t.version());
        assertEquals("Q: q\nA: a\nB: b\n", t.renderResponse("q", "a", "b"));

        Files.writeString(dir.resolve("response.txt"), "Q: {context}\nA: {response_1}\n");
        BadInputException missing = assertThrows(BadInputException.class, () -> JudgeTemplate.fromDir(dir));
        assertTrue(missing.getMessage().contains("missing placeholder {response_2}"), missing.getMessage());
        Files.writeString(dir.resolve("response.txt"), "{context} {response_1} {response_2} {respnse_3}");
        BadInputException typo = assertThrows(BadInputException.class, () -> JudgeTemplate.fromDir(dir));
        assertTrue(typo.getMessage().contains("unknown placeholder {respnse_3}"), typo.getMessage());
        Files.delete(dir.resolve("version.txt"));
        BadInputException noVersion = assertThrows(BadInputException.class, () -> JudgeTemplate.fromDir(dir));
        assertTrue(noVersion.getMessage().contains("version.txt"), noVersion.getMessage());
        assertFalse(noVersion.getMessage().isEmpty());
    }
}
