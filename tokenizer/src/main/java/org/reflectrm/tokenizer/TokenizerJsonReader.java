package org.reflectrm.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a Hugging Face {@code tokenizer.json} into the pipeline components. The model's vocabulary and
 * merges (most of an 11 MB file) are streamed; the small component objects are read as trees. Anything
 * this implementation does not reproduce exactly is refused with its type and JSON path rather than
 * approximated.
 */
final class TokenizerJsonReader {
    /**
     * Words whose BPE result is remembered (about 6 MB when full). HF keeps 10,000; a larger cache pays off
     * on long, varied documents.
     */
    static final int CACHE_CAPACITY = 1 << 16;

    private final String source;
    private final ObjectNode top = JsonNodeFactory.instance.objectNode();
    private final ObjectNode modelFields = JsonNodeFactory.instance.objectNode();
    private Map<String, Integer> vocab;
    /** The vocabulary by id (null where an id is unused), built while parsing it. */
    private String[] vocabById;
    /**
     * Merges resolved to ids as they stream in, which is possible when the vocabulary and the subword prefix
     * come first (as in every file HF writes); otherwise they are kept as strings and resolved at the end.
     */
    private MergeTable merges;
    private int mergeCount;
    private List<String[]> pendingMerges;
    private boolean sawModel;

    private TokenizerJsonReader(String source) {
        this.source = source;
    }

    static Tokenizer read(InputStream in, String source, TokenizerConfig config) {
        TokenizerJsonReader reader = new TokenizerJsonReader(source);
        try (JsonParser p = JsonTrees.FACTORY.createParser(in)) {
            reader.parse(p);
        } catch (IOException e) {
            throw JsonTrees.readError(source, e);
        }
        return reader.build(config);
    }

    // ---------------------------------------------------------------- streaming parse

    private void parse(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new TokenizerException(source + ": $: expected a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("model") && value == JsonToken.START_OBJECT) {
                sawModel = true;
                parseModel(p);
            } else {
                top.set(name, JsonTrees.readValue(p));
            }
        }
        if (p.nextToken() != null) {
            throw new TokenizerException(source + ": not valid JSON: content after the top-level object");
        }
    }

    private void parseModel(JsonParser p) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("vocab") && value == JsonToken.START_OBJECT) {
                parseVocab(p);
            } else if (name.equals("merges") && value == JsonToken.START_ARRAY) {
                parseMerges(p);
            } else {
                modelFields.set(name, JsonTrees.readValue(p));
            }
        }
    }

    /**
     * The largest token id accepted. Ids index arrays sized by the largest id, so a hostile file's
     * id of two billion would ask for gigabytes (or wrap an int); real vocabularies stay far below
     * this (Qwen3 has 151,669 ids).
     */
    static final int MAX_TOKEN_ID = (1 << 22) - 1;

    private void parseVocab(JsonParser p) throws IOException {
        vocab = new HashMap<>(1 << 18);
        String[] byId = new String[1 << 12];
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT
                    || p.getIntValue() < 0) {
                throw new TokenizerException(source + ": $.model.vocab[\"" + token
                        + "\"]: expected a non-negative integer id");
            }
            int id = p.getIntValue();
            if (id > MAX_TOKEN_ID) {
                throw new TokenizerException(source + ": $.model.vocab[\"" + token + "\"]: id " + id
                        + " is beyond the largest supported token id " + MAX_TOKEN_ID);
            }
            vocab.put(token, id);
            if (id >= byId.length) {
                byId = Arrays.copyOf(byId, Math.max(id + 1, byId.length * 2));
            }
            byId[id] = token;
        }
        int length = byId.length;
        while (length > 0 && byId[length - 1] == null) {
            length--;
        }
        vocabById = Arrays.copyOf(byId, length);
    }

    private void parseMerges(JsonParser p) throws IOException {
        merges = new MergeTable(1 << 18); // Qwen3 has 151,387 merges: no regrowth
        mergeCount = 0;
        JsonNode prefix = modelFields.get("continuing_subword_prefix");
        if (vocab == null || prefix == null || !(prefix.isNull() || prefix.isTextual())) {
            pendingMerges = new ArrayList<>(1 << 17);
        }
        readMerges(p);
    }

    private void addMerge(String left, String right) {
        if (pendingMerges != null) {
            pendingMerges.add(new String[] {left, right});
        } else {
            resolveMerge(left, right, mergeCount, modelFields.get("continuing_subword_prefix").textValue());
        }
        mergeCount++;
    }

    /** Records merge number {@code rank}: HF's merged token is left + right without the subword prefix. */
    private void resolveMerge(String left, String right, int rank, String prefix) {
        String tail = prefix != null && right.startsWith(prefix) ? right.substring(prefix.length()) : right;
        merges = merges.withRoomFor(rank + 1);
        merges.put(mergeTokenId(left, rank), mergeTokenId(right, rank), rank, mergeTokenId(left + tail, rank));
    }

    private void readMerges(JsonParser p) throws IOException {
        int index = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            String where = "$.model.merges[" + index + "]";
            if (t == JsonToken.VALUE_STRING) {
                // Legacy format "a b". HF skips "#version" lines and needs exactly one space.
                String line = p.getText();
                if (!line.startsWith("#version")) {
                    String[] parts = line.split(" ", -1);
                    if (parts.length != 2) {
                        throw new TokenizerException(source + ": " + where + ": expected \"left right\", found \""
                                + line + "\"");
                    }
                    addMerge(parts[0], parts[1]);
                }
            } else if (t == JsonToken.START_ARRAY) {
                String left = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                String right = left != null && p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (right == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw new TokenizerException(source + ": " + where + ": expected a pair of strings");
                }
                addMerge(left, right);
            } else {
                throw new TokenizerException(source + ": " + where + ": expected \"left right\" or [left, right]");
            }
            index++;
        }
    }

    // ---------------------------------------------------------------- building

    private Tokenizer build(TokenizerConfig config) {
        JsonSpot root = new JsonSpot(top, "$", source);
        for (String field : new String[] {"truncation", "padding"}) {
            if (!root.get(field).isNull()) {
                throw root.get(field).error("unsupported: only null is supported (it changes the ids)");
            }
        }
        if (!sawModel) {
            JsonSpot model = root.get("model");
            throw model.isNull() ? model.error("missing required field") : model.error("expected a JSON object");
        }
        BpeModel model = buildModel(new JsonSpot(modelFields, "$.model", source));
        List<AddedToken> added = buildAddedTokens(root.get("added_tokens"));
        int maxId = vocabById.length - 1;
        for (AddedToken t : added) {
            maxId = Math.max(maxId, t.id());
        }
        String[] tokens = Arrays.copyOf(vocabById, maxId + 1);
        for (AddedToken t : added) {
            tokens[t.id()] = t.content();
        }
        return new Tokenizer(source, added, normalizer(root.get("normalizer")), preTokenizer(root.get("pre_tokenizer")),
                model, vocab, tokens, postProcessor(root.get("post_processor")), decoder(root.get("decoder")), config);
    }

    private BpeModel buildModel(JsonSpot m) {
        JsonSpot typeSpot = m.get("type");
        String type = typeSpot.isNull() ? (merges != null ? "BPE" : "?") : typeSpot.asText();
        if (!type.equals("BPE")) {
            throw typeSpot.error("unsupported model type \"" + type + "\" (supported: BPE)");
        }
        if (vocab == null) {
            throw m.get("vocab").error(m.get("vocab").isNull() ? "missing required field" : "expected a JSON object");
        }
        if (merges == null) {
            throw m.get("merges").error(m.get("merges").isNull() ? "missing required field" : "expected a JSON array");
        }
        JsonSpot dropout = m.get("dropout");
        if (!dropout.isNull() && !(dropout.node().isNumber() && dropout.node().doubleValue() == 0.0)) {
            throw dropout.error("unsupported BPE dropout " + dropout.node() + " (only null or 0)");
        }
        if (m.get("byte_fallback").boolOr(false)) {
            throw m.get("byte_fallback").error("unsupported BPE byte_fallback=true");
        }
        String prefix = m.get("continuing_subword_prefix").textOr("");
        String suffix = m.get("end_of_word_suffix").textOr("");
        if (pendingMerges != null) {
            for (int rank = 0; rank < pendingMerges.size(); rank++) {
                String[] pair = pendingMerges.get(rank);
                resolveMerge(pair[0], pair[1], rank, prefix);
            }
            pendingMerges = null;
        }
        return new BpeModel(vocab, merges, prefix, suffix, m.get("ignore_merges").boolOr(false),
                m.get("unk_token").textOr(null), m.get("fuse_unk").boolOr(false), CACHE_CAPACITY);
    }

    private int mergeTokenId(String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new TokenizerException(source + ": $.model.merges[" + rank + "]: token \"" + token
                    + "\" is not in the vocabulary");
        }
        return id;
    }

    private List<AddedToken> buildAddedTokens(JsonSpot spot) {
        List<AddedToken> out = new ArrayList<>();
        if (spot.isNull()) {
            return out;
        }
        for (JsonSpot t : spot.elements()) {
            String content = t.field("content").asText();
            boolean special = t.get("special").boolOr(false);
            int id = t.field("id").asInt();
            // HF gives a token that is already in the model vocabulary the vocabulary's id.
            Integer inVocab = vocab.get(content);
            if (inVocab != null) {
                id = inVocab;
            } else {
                if (id < 0) {
                    throw t.get("id").error("expected a non-negative id");
                }
                if (id > MAX_TOKEN_ID) {
                    throw t.get("id").error("id " + id + " is beyond the largest supported token id " + MAX_TOKEN_ID);
                }
                if (id < vocabById.length && vocabById[id] != null) {
                    throw t.get("id").error("id " + id + " of added token \"" + content
                            + "\" is already the vocabulary's id of \"" + vocabById[id] + "\"");
                }
            }
            out.add(new AddedToken(id, content, special, t.get("single_word").boolOr(false),
                    t.get("lstrip").boolOr(false), t.get("rstrip").boolOr(false),
                    t.get("normalized").boolOr(!special)));
        }
        return out;
    }

    private TextNormalizer normalizer(JsonSpot spot) {
        if (spot.isNull()) {
            return TextNormalizer.IDENTITY;
        }
        String type = spot.type();
        return switch (type) {
            case "NFC" -> new TextNormalizer.Unicode(Normalizer.Form.NFC);
            case "NFD" -> new TextNormalizer.Unicode(Normalizer.Form.NFD);
            case "NFKC" -> new TextNormalizer.Unicode(Normalizer.Form.NFKC);
            case "NFKD" -> new TextNormalizer.Unicode(Normalizer.Form.NFKD);
            case "Sequence" -> {
                List<TextNormalizer> steps = new ArrayList<>();
                for (JsonSpot step : spot.field("normalizers").elements()) {
                    steps.add(normalizer(step.requireObject()));
                }
                yield new TextNormalizer.Sequence(List.copyOf(steps));
            }
            default -> throw spot.get("type").error("unsupported normalizer type \"" + type
                    + "\" (supported: NFC, NFD, NFKC, NFKD, Sequence)");
        };
    }

    private PreTokenizer preTokenizer(JsonSpot spot) {
        if (spot.isNull()) {
            return PreTokenizer.NONE;
        }
        String type = spot.type();
        return switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonSpot step : spot.field("pretokenizers").elements()) {
                    steps.add(preTokenizer(step.requireObject()));
                }
                yield new PreTokenizer.Sequence(List.copyOf(steps));
            }
            case "Split" -> split(spot);
            case "ByteLevel" -> PreTokenizer.ByteLevel.of(spot.get("add_prefix_space").boolOr(true),
                    spot.get("use_regex").boolOr(true));
            default -> throw spot.get("type").error("unsupported pre_tokenizer type \"" + type
                    + "\" (supported: Sequence, Split, ByteLevel)");
        };
    }

    private PreTokenizer split(JsonSpot spot) {
        JsonSpot pattern = spot.field("pattern").requireObject();
        SplitPattern compiled;
        if (!pattern.get("Regex").isNull()) {
            String regex = pattern.get("Regex").asText();
            SplitPattern fast = LlamaStyleSplitter.forRegex(regex);
            try {
                compiled = fast != null ? fast : SplitPattern.Regex.compile(regex);
            } catch (PatternSyntaxException e) {
                throw pattern.get("Regex").error("regex not supported by java.util.regex: " + e.getDescription());
            }
        } else if (!pattern.get("String").isNull()) {
            compiled = new SplitPattern.Literal(pattern.get("String").asText());
        } else {
            throw pattern.error("expected {\"Regex\": ...} or {\"String\": ...}");
        }
        String behavior = spot.field("behavior").asText();
        PreTokenizer.SplitBehavior b = switch (behavior) {
            case "Isolated" -> PreTokenizer.SplitBehavior.ISOLATED;
            case "Removed" -> PreTokenizer.SplitBehavior.REMOVED;
            default -> throw spot.get("behavior").error("unsupported Split behavior \"" + behavior
                    + "\" (supported: Isolated, Removed)");
        };
        return new PreTokenizer.Split(compiled, b, spot.get("invert").boolOr(false));
    }

    private PostProcessor postProcessor(JsonSpot spot) {
        if (spot.isNull()) {
            return new PostProcessor.PassThrough();
        }
        String type = spot.type();
        return switch (type) {
            case "ByteLevel" -> new PostProcessor.PassThrough();
            case "TemplateProcessing" -> template(spot);
            case "BertProcessing", "RobertaProcessing" -> {
                int[] cls = {specialPair(spot.field("cls"))};
                int[] sep = {specialPair(spot.field("sep"))};
                var a = PostProcessor.TemplatePiece.sequence(0);
                var b = PostProcessor.TemplatePiece.sequence(1);
                var c = PostProcessor.TemplatePiece.special(cls);
                var s = PostProcessor.TemplatePiece.special(sep);
                yield new PostProcessor.Template(List.of(c, a, s), type.equals("BertProcessing")
                        ? List.of(c, a, s, b, s) : List.of(c, a, s, s, b, s));
            }
            case "Sequence" -> {
                List<PostProcessor> steps = new ArrayList<>();
                for (JsonSpot step : spot.field("processors").elements()) {
                    steps.add(postProcessor(step.requireObject()));
                }
                yield new PostProcessor.Sequence(List.copyOf(steps));
            }
            default -> throw spot.get("type").error("unsupported post_processor type \"" + type
                    + "\" (supported: ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence)");
        };
    }

    /** Bert/Roberta's {@code ["[CLS]", 101]}: the id. */
    private static int specialPair(JsonSpot spot) {
        List<JsonSpot> parts = spot.elements();
        if (parts.size() != 2) {
            throw spot.error("expected [token, id]");
        }
        parts.get(0).asText();
        return parts.get(1).asInt();
    }

    private PostProcessor template(JsonSpot spot) {
        Map<String, int[]> specials = new HashMap<>();
        JsonSpot specialSpot = spot.get("special_tokens");
        if (!specialSpot.isNull()) {
            for (var e : specialSpot.entries()) {
                List<JsonSpot> idSpots = e.getValue().field("ids").elements();
                int[] ids = new int[idSpots.size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = idSpots.get(i).asInt();
                }
                specials.put(e.getKey(), ids);
            }
        }
        return new PostProcessor.Template(templatePieces(spot.field("single"), specials, 1),
                templatePieces(spot.field("pair"), specials, 2));
    }

    private static List<PostProcessor.TemplatePiece> templatePieces(JsonSpot spot, Map<String, int[]> specials,
                                                                    int sequences) {
        List<PostProcessor.TemplatePiece> pieces = new ArrayList<>();
        for (JsonSpot piece : spot.elements()) {
            if (!piece.get("SpecialToken").isNull()) {
                JsonSpot idSpot = piece.get("SpecialToken").field("id");
                int[] ids = specials.get(idSpot.asText());
                if (ids == null) {
                    throw idSpot.error("special token \"" + idSpot.asText() + "\" is not in special_tokens");
                }
                pieces.add(PostProcessor.TemplatePiece.special(ids));
            } else if (!piece.get("Sequence").isNull()) {
                JsonSpot idSpot = piece.get("Sequence").field("id");
                String id = idSpot.asText();
                int index = id.equals("A") ? 0 : id.equals("B") ? 1 : -1;
                if (index < 0 || index >= sequences) {
                    throw idSpot.error("unexpected sequence \"" + id + "\" in this template");
                }
                pieces.add(PostProcessor.TemplatePiece.sequence(index));
            } else {
                throw piece.error("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
            }
        }
        return List.copyOf(pieces);
    }

    private TokenDecoder decoder(JsonSpot spot) {
        if (spot.isNull()) {
            return new TokenDecoder.SpaceJoin();
        }
        String type = spot.type();
        if (type.equals("ByteLevel")) {
            return new TokenDecoder.ByteLevel();
        }
        throw spot.get("type").error("unsupported decoder type \"" + type + "\" (supported: ByteLevel)");
    }

}
