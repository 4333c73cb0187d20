package org.reflectrm.model.judge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Verdict parsing: the last Result tag, exact sentences only, unparseable otherwise. */
class VerdictTest {

    @Test
    void readsTheExactSentencesIgnoringCaseAndSurroundingSpace() {
        Verdict v = Verdict.parse("<Analysis>R2 is wrong.</Analysis>\n<Result>Response 1 is better than Response 2</Result>",
                Verdict.Kind.RESPONSE);
        assertTrue(v.parsed());
        assertEquals(1, v.choice());
        assertEquals("R2 is wrong.", v.analysis());
        assertEquals(2, Verdict.parse("<result>\n  response 2 IS better than RESPONSE 1 \n</RESULT>", Verdict.Kind.RESPONSE).choice());
        assertEquals(2, Verdict.parse("<Result>Critique 2 is better than Critique 1</Result>", Verdict.Kind.CRITIQUE).choice());
    }

    @Test
    void theLastResultTagDecides() {
        String text = "<Analysis>The format is <Result>Response 1 is better than Response 2</Result>, so...</Analysis>"
                + "<Result>Response 2 is better than Response 1</Result>";
        Verdict v = Verdict.parse(text, Verdict.Kind.RESPONSE);
        assertEquals(2, v.choice());
        assertTrue(v.analysis().startsWith("The format is"), v.analysis());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "no tags at all",
        "<Result>Response 1 is better than Response 2",                   // never closed
        "<Result>Response 1 is better than Response 2.</Result>",         // not the exact sentence
        "<Result>Both are equally good</Result>",                         // no tie class
        "<Result>Response 1</Result>",
        "<Result>Critique 1 is better than Critique 2</Result>",          // the other task's sentence
        "<Result>Response 1 is better than Response 2</Result><Result>unsure</Result>",
        ""})
    void anythingElseIsUnparseableNeverATie(String text) {
        Verdict v = Verdict.parse(text, Verdict.Kind.RESPONSE);
        assertFalse(v.parsed(), text);
        assertEquals(Verdict.Status.UNPARSEABLE, v.status());
        assertNull(v.choice());
    }

    @Test
    void caseFoldingThatChangesLengthDoesNotShiftTheSearch() {
        // "İ" lower-cases to two chars; searching a lower-cased copy would misplace the tags.
        Verdict v = Verdict.parse("İİİİ <Analysis>İ ok</Analysis><Result>Response 2 is better than Response 1</Result>",
                Verdict.Kind.RESPONSE);
        assertEquals(2, v.choice());
        assertEquals("İ ok", v.analysis());
    }
}
