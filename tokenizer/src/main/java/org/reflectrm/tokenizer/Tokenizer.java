package org.reflectrm.tokenizer;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * A Hugging Face {@code tokenizer.json} byte-level BPE tokenizer (Qwen3, Qwen2, GPT-2, Llama 3 and kin)
 * that gives the same ids as the Rust {@code tokenizers} library.
 *
 * <p>Encoding follows HF's pipeline: added tokens are cut out of the raw text first (leftmost-longest,
 * with their lstrip/rstrip/single_word rules), each remaining piece is normalized, normalized added tokens
 * are cut out of it, the pre-tokenizer splits it into words, and BPE turns each word into ids. The
 * post-processor's special tokens are added only on request.
 *
 * <p>Text that comes from users or from documents being judged must go through
 * {@link #encodeUntrusted(String)}: it matches no added token, so a literal {@code <|im_end|>} or
 * {@code <think>} in that text is encoded as ordinary characters and cannot forge chat structure.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class Tokenizer {
    private final String source;
    private final List<AddedToken> addedTokens;
    private final AddedTokenSplitter rawAddedTokens;
    private final AddedTokenSplitter normalizedAddedTokens;
    private final TextNormalizer normalizer;
    private final PreTokenizer preTokenizer;
    /** Whether the pre-tokenizer leaves its final byte-level mapping to the model (see BpeModel#tokenize). */
    private final boolean modelMapsBytes;
    private final BpeModel model;
    /** The model's vocabulary; added tokens are looked up in {@link #addedIds} first, as HF does. */
    private final Map<String, Integer> vocab;
    private final Map<String, Integer> addedIds;
    private final String[] tokens;
    private final boolean[] special;
    private final int vocabSize;
    private final PostProcessor postProcessor;
    private final TokenDecoder decoder;
    private final TokenizerConfig config;

    Tokenizer(String source, List<AddedToken> addedTokens, TextNormalizer normalizer, PreTokenizer preTokenizer,
              BpeModel model, Map<String, Integer> vocab, String[] tokens, PostProcessor postProcessor,
              TokenDecoder decoder, TokenizerConfig config) {
        this.source = source;
        this.addedTokens = List.copyOf(addedTokens);
        this.normalizer = normalizer;
        PreTokenizer deferred = preTokenizer.withoutFinalByteMapping();
        this.preTokenizer = deferred != null ? deferred : preTokenizer;
        this.modelMapsBytes = deferred != null;
        this.model = model;
        this.vocab = Collections.unmodifiableMap(vocab);
        this.tokens = tokens;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.config = config;
        List<AddedToken> raw = new ArrayList<>();
        List<AddedToken> normalized = new ArrayList<>();
        Map<String, Integer> added = new HashMap<>();
        Set<String> specialContents = new HashSet<>();
        for (AddedToken t : addedTokens) {
            added.putIfAbsent(t.content(), t.id());
            if (t.special()) {
                specialContents.add(t.content());
            }
            if (t.normalized()) {
                // HF looks for a normalized token's normalized content in normalized text, and that
                // normalized content is also the token's string when decoding.
                String content = normalizer.normalize(t.content());
                normalized.add(new AddedToken(t.id(), content, t.special(), t.singleWord(), t.lstrip(), t.rstrip(),
                        true));
                tokens[t.id()] = content;
            } else {
                raw.add(t);
            }
        }
        // HF decides "special" by the token's string: a special token whose normalized form differs from
        // its content is therefore not skipped by skip_special_tokens. Same here.
        this.special = new boolean[tokens.length];
        for (AddedToken t : addedTokens) {
            special[t.id()] = specialContents.contains(tokens[t.id()]);
        }
        this.addedIds = Map.copyOf(added);
        this.rawAddedTokens = new AddedTokenSplitter(raw);
        this.normalizedAddedTokens = new AddedTokenSplitter(normalized);
        int count = 0;
        for (String t : tokens) {
            count += t == null ? 0 : 1;
        }
        this.vocabSize = count;
    }

    // ---------------------------------------------------------------- loading

    /**
     * Loads a tokenizer from a model folder (its {@code tokenizer.json}, plus {@code tokenizer_config.json}
     * and {@code chat_template.jinja} when present) or from a {@code tokenizer.json} file (its folder's
     * {@code tokenizer_config.json} is read too when present). A file name ending in {@code .gz} is
     * decompressed.
     *
     * @throws TokenizerException if a file is missing, unreadable, malformed or uses an unsupported component
     */
    public static Tokenizer load(Path dirOrFile) {
        Path json = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("tokenizer.json") : dirOrFile;
        Path folder = json.toAbsolutePath().getParent();
        TokenizerConfig config = TokenizerConfig.EMPTY;
        if (folder != null) {
            Path configFile = folder.resolve("tokenizer_config.json");
            if (Files.isRegularFile(configFile)) {
                try (InputStream in = open(configFile)) {
                    config = TokenizerConfig.read(in, configFile.toString());
                } catch (IOException e) {
                    throw new TokenizerException(configFile + ": cannot read: " + e.getMessage(), e);
                }
            }
            Path jinja = folder.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                try {
                    config = config.withFallbackChatTemplate(Files.readString(jinja, StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new TokenizerException(jinja + ": cannot read: " + e.getMessage(), e);
                }
            }
        }
        try (InputStream in = open(json)) {
            return TokenizerJsonReader.read(in, json.toString(), config);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(json + ": not found", e);
        } catch (IOException e) {
            throw new TokenizerException(json + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Where the bundled Qwen3 files lie on the class path (made by tokenizer/src/test/python/make_corpus.py). */
    private static final String QWEN3_JSON_GZ = "qwen3/tokenizer.json.gz";
    private static final String QWEN3_CONFIG = "qwen3/tokenizer_config.json";

    private static final class Qwen3Holder {
        static final Tokenizer TOKENIZER = loadQwen3();
    }

    /**
     * The Qwen3 tokenizer bundled in this jar: the official {@code tokenizer.json} (sha256 {@code aeb13307…}) and
     * {@code tokenizer_config.json} (sha256 {@code d5d09f07…}, with the current chat template), the same for every
     * Qwen3 size. Loaded once; the instance is shared (tokenizers are immutable).
     */
    public static Tokenizer qwen3() {
        return Qwen3Holder.TOKENIZER;
    }

    private static Tokenizer loadQwen3() {
        try (InputStream config = bundled(QWEN3_CONFIG);
             InputStream json = new GZIPInputStream(bundled(QWEN3_JSON_GZ), 1 << 16)) {
            return fromJson(json, TokenizerConfig.read(config, "bundled " + QWEN3_CONFIG), "bundled qwen3/tokenizer.json");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the bundled Qwen3 tokenizer: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the bundled Qwen3 tokenizer into {@code dir} as a Hugging Face model folder holds it:
     * {@code tokenizer.json} (decompressed, byte-identical to the official file) and {@code tokenizer_config.json},
     * replacing files of those names. Creates {@code dir} if needed.
     *
     * @return the two files written
     */
    public static List<Path> writeQwen3Files(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path json = dir.resolve("tokenizer.json");
        Path config = dir.resolve("tokenizer_config.json");
        try (InputStream in = new GZIPInputStream(bundled(QWEN3_JSON_GZ), 1 << 16)) {
            Files.copy(in, json, StandardCopyOption.REPLACE_EXISTING);
        }
        try (InputStream in = bundled(QWEN3_CONFIG)) {
            Files.copy(in, config, StandardCopyOption.REPLACE_EXISTING);
        }
        return List.of(json, config);
    }

    private static InputStream bundled(String name) {
        InputStream in = Tokenizer.class.getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException("the bundled Qwen3 tokenizer is missing from the class path: "
                    + Tokenizer.class.getPackageName().replace('.', '/') + "/" + name);
        }
        return new BufferedInputStream(in, 1 << 16);
    }

    /** Reads {@code tokenizer.json} content from a stream; {@code sourceName} names it in error messages. */
    public static Tokenizer fromJson(InputStream tokenizerJson, String sourceName) {
        return fromJson(tokenizerJson, TokenizerConfig.EMPTY, sourceName);
    }

    /** Reads {@code tokenizer.json} content from a stream, with an already-read configuration. */
    public static Tokenizer fromJson(InputStream tokenizerJson, TokenizerConfig config, String sourceName) {
        return TokenizerJsonReader.read(tokenizerJson, sourceName, config);
    }

    private static InputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        return file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Encodes trusted text as HF's {@code tokenizer.encode(text, add_special_tokens=False).ids} does: every
     * added token (special or not) written in the text becomes its id. Use this for chat-template output,
     * never for user content.
     */
    public int[] encode(String text) {
        return encode(text, AddedTokenMatching.ALL, false);
    }

    /**
     * Encodes untrusted text: no added token is recognised, so {@code <|im_end|>}, {@code <think>} or any
     * other added token's text comes out as ordinary tokens, exactly as if the tokenizer had no added
     * tokens at all.
     */
    public int[] encodeUntrusted(String text) {
        return encode(text, AddedTokenMatching.NONE, false);
    }

    /**
     * Encodes with the given added-token matching, adding the post-processor's special tokens when
     * {@code addSpecialTokens} (HF's {@code add_special_tokens}; Qwen3's post-processor adds none). There is
     * deliberately no {@code encode(String, boolean)}: a bare boolean could be misread as "parse special
     * tokens", and mixing the two up would let untrusted text forge structure.
     */
    public int[] encode(String text, AddedTokenMatching matching, boolean addSpecialTokens) {
        List<int[]> sequences = new ArrayList<>(1);
        sequences.add(encodeSequence(text, matching));
        return join(postProcessor.process(sequences, addSpecialTokens));
    }

    /** Encodes a pair of texts (HF's {@code encode(a, b)}), with the post-processor's pair template. */
    public int[] encodePair(String first, String second, AddedTokenMatching matching, boolean addSpecialTokens) {
        List<int[]> sequences = new ArrayList<>(2);
        sequences.add(encodeSequence(first, matching));
        sequences.add(encodeSequence(second, matching));
        return join(postProcessor.process(sequences, addSpecialTokens));
    }

    private static int[] join(List<int[]> sequences) {
        if (sequences.size() == 1) {
            return sequences.get(0);
        }
        IntList out = new IntList(256);
        for (int[] s : sequences) {
            out.addAll(s);
        }
        return out.toArray();
    }

    private int[] encodeSequence(String text, AddedTokenMatching matching) {
        String input = Utf8.replaceLoneSurrogates(text);
        IntList out = new IntList(input.length() / 3 + 4);
        PreTokenizer.PieceSink toModel = (t, s, e) -> model.tokenize(t, s, e, modelMapsBytes, out);
        List<AddedTokenSplitter.Segment> segments = rawAddedTokens.split(input, matching);
        if (segments == null) {
            encodeRawPiece(input, matching, out, toModel);
        } else {
            for (AddedTokenSplitter.Segment s : segments) {
                if (s.isToken()) {
                    out.add(s.tokenId());
                } else {
                    encodeRawPiece(input.substring(s.start(), s.end()), matching, out, toModel);
                }
            }
        }
        return out.toArray();
    }

    /** Normalizes a piece that holds no raw added token, then cuts out normalized added tokens. */
    private void encodeRawPiece(String raw, AddedTokenMatching matching, IntList out,
                                PreTokenizer.PieceSink toModel) {
        String text = normalizer.normalize(raw);
        List<AddedTokenSplitter.Segment> segments = normalizedAddedTokens.split(text, matching);
        if (segments == null) {
            if (!text.isEmpty()) {
                preTokenizer.preTokenize(text, 0, text.length(), toModel);
            }
            return;
        }
        for (AddedTokenSplitter.Segment s : segments) {
            if (s.isToken()) {
                out.add(s.tokenId());
            } else {
                // A piece is a string of its own for the pre-tokenizer (its regex sees nothing around it).
                String piece = text.substring(s.start(), s.end());
                preTokenizer.preTokenize(piece, 0, piece.length(), toModel);
            }
        }
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes ids to text as HF does: the tokens' bytes are joined and decoded as UTF-8, each ill-formed
     * part becoming U+FFFD (so a character cut off at the end gives U+FFFD). With
     * {@code skipSpecialTokens}, tokens marked {@code special} are left out; other added tokens such as
     * {@code <think>} stay.
     *
     * @throws TokenizerException if an id names no token
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        TokenDecoder.ByteSink bytes = new TokenDecoder.ByteSink();
        boolean first = true;
        for (int id : ids) {
            String token = token(id);
            if (skipSpecialTokens && special[id]) {
                continue;
            }
            decoder.appendBytes(token, first, bytes);
            first = false;
        }
        return Utf8.decodeLossy(bytes.data(), bytes.size());
    }

    /** A decoder for ids that arrive one at a time; see {@link StreamDecoder}. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /** Appends the bytes of one token for the stream decoder; false if it is skipped. */
    boolean appendTokenBytes(int id, boolean skipSpecialTokens, boolean first, TokenDecoder.ByteSink out) {
        String token = token(id);
        if (skipSpecialTokens && special[id]) {
            return false;
        }
        decoder.appendBytes(token, first, out);
        return true;
    }

    // ---------------------------------------------------------------- vocabulary

    /** The token strings of {@code ids} (byte-level strings such as {@code "Ġworld"}, or added tokens). */
    public String[] tokens(int[] ids) {
        String[] out = new String[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = token(ids[i]);
        }
        return out;
    }

    private String token(int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new TokenizerException(source + ": token id " + id + " is out of range (valid ids: 0.."
                    + (tokens.length - 1) + (vocabSize == tokens.length ? "" : ", with gaps") + ")");
        }
        return tokens[id];
    }

    /**
     * Whether {@code id} names a token. Models often have more output rows than the tokenizer has tokens (Qwen3's
     * 151,936 rows against ids 0..151,668); HF's {@code decode} silently drops ids without a token, while
     * {@link #decode} throws, so a caller that wants HF's behaviour filters with this first.
     */
    public boolean hasToken(int id) {
        return id >= 0 && id < tokens.length && tokens[id] != null;
    }

    /** Number of distinct token ids, added tokens included (HF's {@code get_vocab_size(True)}). */
    public int vocabSize() {
        return vocabSize;
    }

    /** The id of a token string (an added token's content, or a byte-level vocabulary entry). */
    public OptionalInt tokenId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) {
            id = vocab.get(token);
        }
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether {@code id} is an added token marked {@code special} (what skipSpecialTokens removes). */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** The added tokens, in {@code tokenizer.json} order. */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** {@code tokenizer_config.json}'s settings, or {@link TokenizerConfig#EMPTY} when there was none. */
    public TokenizerConfig config() {
        return config;
    }

    /** Id of the configured end-of-sequence token ({@code eos_token}), if any. */
    public OptionalInt eosTokenId() {
        return idOf(config.eosToken());
    }

    /** Id of the configured padding token ({@code pad_token}), if any. */
    public OptionalInt padTokenId() {
        return idOf(config.padToken());
    }

    /** Id of the configured beginning-of-sequence token ({@code bos_token}), if any (none for Qwen3). */
    public OptionalInt bosTokenId() {
        return idOf(config.bosToken());
    }

    private OptionalInt idOf(Optional<String> token) {
        return token.isPresent() ? tokenId(token.get()) : OptionalInt.empty();
    }

    /** The BPE model (for tests). */
    BpeModel bpe() {
        return model;
    }

    /** Where this tokenizer was loaded from. */
    public String source() {
        return source;
    }
}
