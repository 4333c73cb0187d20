package org.reflectrm.tokenizer;

/**
 * One entry of {@code tokenizer.json}'s {@code added_tokens}, with Hugging Face's flags.
 *
 * @param id         the token id
 * @param content    the exact text the token stands for
 * @param special    removed by {@code decode(ids, skipSpecialTokens=true)}; also the only tokens that
 *                   {@link AddedTokenMatching#NON_SPECIAL} stops matching
 * @param singleWord matched only when the characters either side of the match are not word characters
 * @param lstrip     a match also absorbs the white space before it
 * @param rstrip     a match also absorbs the white space after it
 * @param normalized matched on normalized text (after the normalizer) instead of the raw input
 */
public record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip,
                         boolean rstrip, boolean normalized) {
}
