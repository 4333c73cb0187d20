package org.reflectrm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of {@code tokenizer_config.json} (transformers' file next to {@code tokenizer.json}) that an
 * engine needs. Token fields hold token strings; map them to ids with {@link Tokenizer#tokenId}.
 * Nothing here changes how {@link Tokenizer} encodes: in particular {@code add_bos_token} is reported,
 * not applied (Qwen3 has no BOS token).
 *
 * @param bosToken       {@code bos_token}, absent when null or missing
 * @param eosToken       {@code eos_token}
 * @param padToken       {@code pad_token}
 * @param unkToken       {@code unk_token}
 * @param addBosToken    {@code add_bos_token}, false when missing
 * @param addEosToken    {@code add_eos_token}, false when missing
 * @param chatTemplate   the default Jinja chat template: {@code chat_template} as a string, the entry named
 *                       "default" when it is a list of named templates, or the folder's
 *                       {@code chat_template.jinja} when the JSON has none
 * @param chatTemplates  every named template when {@code chat_template} is a list (else empty)
 */
public record TokenizerConfig(Optional<String> bosToken, Optional<String> eosToken, Optional<String> padToken,
                              Optional<String> unkToken, boolean addBosToken, boolean addEosToken,
                              Optional<String> chatTemplate, Map<String, String> chatTemplates) {

    public TokenizerConfig {
        chatTemplates = Map.copyOf(chatTemplates);
    }

    /** What a tokenizer without {@code tokenizer_config.json} reports. */
    public static final TokenizerConfig EMPTY = new TokenizerConfig(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), false, false, Optional.empty(), Map.of());

    /** Reads {@code tokenizer_config.json}; {@code source} names the file in error messages. */
    public static TokenizerConfig read(InputStream in, String source) {
        JsonNode root;
        try {
            root = JsonTrees.readDocument(in);
        } catch (IOException e) {
            throw JsonTrees.readError(source, e);
        }
        JsonSpot spot = new JsonSpot(root, "$", source).requireObject();
        Map<String, String> named = new LinkedHashMap<>();
        Optional<String> template = Optional.empty();
        JsonSpot chat = spot.get("chat_template");
        if (!chat.isNull()) {
            if (chat.node().isTextual()) {
                template = Optional.of(chat.asText());
            } else {
                for (JsonSpot entry : chat.elements()) {
                    named.put(entry.field("name").asText(), entry.field("template").asText());
                }
                template = Optional.ofNullable(named.get("default"));
            }
        }
        return new TokenizerConfig(token(spot.get("bos_token")), token(spot.get("eos_token")),
                token(spot.get("pad_token")), token(spot.get("unk_token")),
                spot.get("add_bos_token").boolOr(false), spot.get("add_eos_token").boolOr(false),
                template, named);
    }

    /** The same configuration with {@code template} as its chat template when it has none. */
    TokenizerConfig withFallbackChatTemplate(String template) {
        if (chatTemplate.isPresent() || template == null) {
            return this;
        }
        return new TokenizerConfig(bosToken, eosToken, padToken, unkToken, addBosToken, addEosToken,
                Optional.of(template), chatTemplates);
    }

    /** A token field is a string, or an AddedToken object with a "content" field, or null. */
    private static Optional<String> token(JsonSpot spot) {
        if (spot.isNull()) {
            return Optional.empty();
        }
        if (spot.node().isObject()) {
            return Optional.of(spot.field("content").asText());
        }
        return Optional.of(spot.asText());
    }
}
