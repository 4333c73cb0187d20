package org.reflectrm.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in text the way Hugging Face's {@code AddedVocabulary} does. Matching is
 * leftmost-longest over all tokens of this splitter (like Aho-Corasick LeftmostLongest); a match is then
 * dropped if the mode excludes its token or its {@code single_word} test fails, and the scan goes on after
 * the dropped match (no shorter alternative is tried, as in HF). Kept matches widen over adjacent white
 * space for {@code lstrip}/{@code rstrip}, never back past the previous match.
 */
final class AddedTokenSplitter {
    /** A piece of the input: either an added token ({@code tokenId >= 0}) or text to tokenize. */
    record Segment(int start, int end, int tokenId) {
        boolean isToken() {
            return tokenId >= 0;
        }
    }

    /** A character trie over UTF-16 units; a node's {@code token} is set where a token ends. */
    private static final class Node {
        final Map<Character, Node> children = new HashMap<>(4);
        AddedToken token;
    }

    private final Node root = new Node();
    /** First UTF-16 unit of some token: lets the scan skip every other position cheaply. */
    private final boolean[] firstChar = new boolean[65536];
    private final boolean empty;

    AddedTokenSplitter(List<AddedToken> tokens) {
        boolean any = false;
        for (AddedToken t : tokens) {
            if (t.content().isEmpty()) {
                continue; // HF never matches an empty token
            }
            Node node = root;
            for (int i = 0; i < t.content().length(); i++) {
                node = node.children.computeIfAbsent(t.content().charAt(i), c -> new Node());
            }
            if (node.token == null) { // first declaration wins for duplicate contents
                node.token = t;
            }
            firstChar[t.content().charAt(0)] = true;
            any = true;
        }
        empty = !any;
    }

    /** Splits {@code text}; returns null when nothing matched (the whole text is one text segment). */
    List<Segment> split(String text, AddedTokenMatching mode) {
        if (empty || mode == AddedTokenMatching.NONE) {
            return null;
        }
        List<Segment> segments = null;
        int n = text.length();
        int previousStop = 0; // end of the last kept match
        int i = 0;
        while (i < n) {
            if (!firstChar[text.charAt(i)]) {
                i++;
                continue;
            }
            AddedToken token = null;
            int matchEnd = -1;
            Node node = root;
            for (int j = i; j < n; j++) {
                node = node.children.get(text.charAt(j));
                if (node == null) {
                    break;
                }
                if (node.token != null) {
                    token = node.token;
                    matchEnd = j + 1;
                }
            }
            if (token == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = matchEnd;
            i = matchEnd; // a dropped match is still consumed, as in HF
            if (mode == AddedTokenMatching.NON_SPECIAL && token.special()) {
                continue;
            }
            if (token.singleWord() && !isSingleWord(text, start, stop)) {
                continue;
            }
            if (token.lstrip()) {
                while (start > 0 && CharClass.isWhiteSpace(text.charAt(start - 1))) {
                    start--; // all White_Space characters are in the BMP
                }
                // Never reach back into the previous match; HF clamps the same way.
                start = Math.min(Math.max(start, previousStop), stop);
            }
            if (token.rstrip()) {
                while (stop < n && CharClass.isWhiteSpace(text.charAt(stop))) {
                    stop++;
                }
                // The scan still resumes at the match end, not after the absorbed space: that is what HF
                // does, and it only matters for tokens that begin with white space.
            }
            if (segments == null) {
                segments = new ArrayList<>();
            }
            if (start > previousStop) {
                segments.add(new Segment(previousStop, start, -1));
            }
            segments.add(new Segment(start, stop, token.id()));
            previousStop = stop;
        }
        if (segments != null && previousStop < n) {
            segments.add(new Segment(previousStop, n, -1));
        }
        return segments;
    }

    private static boolean isSingleWord(String text, int start, int stop) {
        boolean wordBefore = start > 0 && CharClass.isWordChar(text.codePointBefore(start));
        boolean wordAfter = stop < text.length() && CharClass.isWordChar(text.codePointAt(stop));
        return !wordBefore && !wordAfter;
    }
}
