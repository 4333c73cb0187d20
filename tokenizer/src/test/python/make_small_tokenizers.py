#!/usr/bin/env python3
"""Builds small tokenizers of the same family as Qwen3's, plus their ids from Hugging Face `tokenizers`,
to show the Java loader is general and not fitted to one file.

Usage:  python3 make_small_tokenizers.py           Needs: pip install tokenizers   (made with 0.23.2)

Writes into tokenizer/src/test/resources/small/:
  bytelevel.json         ByteLevel BPE trained here: NFC (in a Sequence) normalizer, ByteLevel pre-tokenizer
                         with add_prefix_space and GPT-2's regex, TemplateProcessing, ByteLevel decoder, and
                         added tokens covering special / lstrip / rstrip / single_word / normalized; merges as
                         [left, right] pairs (what this tokenizers version writes)
  bytelevel-legacy.json  the same tokenizer with merges as "left right" strings (the older format)
  <variant>.json         the same vocabulary with other components (see variants() below)
  charbpe.json           a BPE that is not byte-level: continuing_subword_prefix, end_of_word_suffix,
                         unk_token with fuse_unk, Split pre-tokenizers (string pattern Removed, regex with
                         invert), no decoder; charbpe-nofuse.json is the same with fuse_unk false
  cases.json.gz          {"<file name>": [{"text", "ids", "ids_special", "untrusted", "split_special",
                          "decoded", "decoded_skip"} ...], "pairs": {...}}
All randomness is seeded, so reruns give the same files.
"""
import copy
import gzip
import json
import os
import random
import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "small"))

TRAIN_TEXT = """
The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!
It's a truth universally acknowledged, that a single man in possession of a good fortune,
must be in want of a wife. I'm sure you'll say they're fine; we've done it, and I'd do it again.
Café naïve résumé façade coöperate. Straße Fußgänger. Привет мир, как дела? Γειά σου Κόσμε.
你好，世界！今天天气怎么样？ こんにちは世界。 안녕하세요 세계. مرحبا بالعالم. שלום עולם.
def tokenize(text: str) -> list[int]:
    return [ord(c) for c in text if c.isalnum()]  # 42 items, 3.14159, 1,000,000
for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }
Emoji: 🦀 🍕 👍🏽 👨‍👩‍👧 🇺🇸 ❤️ and numbers 12345 67890 and words words words.
""" * 8


def byte_level_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFC()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<s>", "</s>"])
    tok.train_from_iterator(TRAIN_TEXT.splitlines(), trainer)
    tok.add_special_tokens([
        AddedToken("[MASK]", lstrip=True, normalized=False, special=True),
        # Special and normalized: HF decodes it as its NFC form "Xé", which is then not in its special-token
        # set, so skip_special_tokens keeps it. Java must reproduce that quirk.
        AddedToken("Xe\u0301", normalized=True, special=True),
    ])
    tok.add_tokens([
        AddedToken("<sep>", rstrip=True, normalized=False),
        AddedToken("word", single_word=True, normalized=True),
        AddedToken("Cafe\u0301", normalized=True),          # matched on NFC text: as "Café"
        AddedToken("[LR]", lstrip=True, rstrip=True, single_word=True, normalized=False),
        AddedToken("\u00ff\u00ff", normalized=False),        # byte-level characters: decodes to bytes FF FF
        AddedToken("a b", normalized=False),                # a space: decodes as its own UTF-8
        AddedToken("<think>", normalized=False),
    ])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B:1 </s>:1",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    return tok


def char_bpe_tokenizer():
    """A BPE that is not byte-level, trained by the small deterministic loop below (HF's trainer breaks
    count ties differently from run to run when subword prefixes are involved)."""
    prefix, suffix = "##", "</w>"
    # Capitals, accents and other scripts stay out of the alphabet and become [UNK].
    alphabet = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'()[]=+-*#_"))
    vocab = {"[UNK]": 0}
    for c in alphabet:
        for symbol in (c, prefix + c, c + suffix, prefix + c + suffix):
            vocab.setdefault(symbol, len(vocab))
    counts = {}
    for word in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", TRAIN_TEXT):
        if all(c in alphabet for c in word):
            counts[word] = counts.get(word, 0) + 1
    words = {w: [(prefix if i else "") + c + (suffix if i == len(w) - 1 else "") for i, c in enumerate(w)]
             for w in counts}
    merges = []
    while len(vocab) < 400:
        pairs = {}
        for w, symbols in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] = pairs.get(pair, 0) + counts[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))  # ties: the larger pair, always
        merged = a + (b[len(prefix):] if b.startswith(prefix) else b)
        merges.append((a, b))
        vocab.setdefault(merged, len(vocab))
        for w, symbols in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[w] = out
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="[UNK]", fuse_unk=True,
                               continuing_subword_prefix=prefix, end_of_word_suffix=suffix))
    tok.normalizer = normalizers.Sequence([normalizers.NFD()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="removed"),
        pre_tokenizers.Split(Regex(r"[\p{L}\p{N}]+"), behavior="isolated", invert=True),
    ])
    tok.add_special_tokens(["[UNK]"])
    tok.add_tokens([AddedToken("<x>", normalized=False)])
    return tok


def spec_of(tok):
    return json.loads(tok.to_str())


def variants(base):
    """Same vocabulary and merges, other components."""
    out = {}
    s = copy.deepcopy(base)
    s["post_processor"] = {"type": "BertProcessing", "sep": ["</s>", base_id(base, "</s>")], "cls": ["<s>", base_id(base, "<s>")]}
    out["bytelevel-bert.json"] = s
    s = copy.deepcopy(base)
    s["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", base_id(base, "</s>")], "cls": ["<s>", base_id(base, "<s>")],
                           "trim_offsets": True, "add_prefix_space": True}
    out["bytelevel-roberta.json"] = s
    s = copy.deepcopy(base)
    s["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}, base["post_processor"]]}
    out["bytelevel-seqproc.json"] = s
    # Llama 3's split regex (\p{N}{1,3}) before a plain byte mapping, NFKC, and ignore_merges.
    s = copy.deepcopy(base)
    s["normalizer"] = {"type": "NFKC"}
    s["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    s["model"]["ignore_merges"] = True
    out["bytelevel-llama3split.json"] = s
    # Qwen's regex with add_prefix_space on every piece, no normalizer, Removed/invert splits.
    s = copy.deepcopy(base)
    s["normalizer"] = None
    s["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "--"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": QWEN}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": False}]}
    out["bytelevel-qwensplit.json"] = s
    s = copy.deepcopy(base)
    s["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\d+|\\s"}, "behavior": "Removed", "invert": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}]}
    s["decoder"] = None
    out["bytelevel-invert.json"] = s
    return out


QWEN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
LLAMA3 = QWEN.replace("|\\p{N}|", "|\\p{N}{1,3}|")


def base_id(spec, content):
    for t in spec["added_tokens"]:
        if t["content"] == content:
            return t["id"]
    raise KeyError(content)


FRAGMENTS = ["The", " quick", "brown", " fox", "'s", "'LL", "'Re", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000",
             "Caf\u00e9", "Cafe\u0301", "caf\u00e9", "word", "words", " word ", "_word", "word1", "[MASK]", " [MASK]",
             "<sep>", "<sep>  ", "[LR]", " [LR] ", "x[LR]", "<s>", "</s>", "<think>", "\u00ff\u00ff", "a b", "ab",
             "12345", "3.14", "\u0661\u0662", "\u00bd", "\ufb01", "\u2167", "--", "---", "a--b", "\u4f60\u597d",
             "\u041f\u0440\u0438\u0432\u0435\u0442", "\U0001f980", "\U0001f44d\U0001f3fd", "\u200d", "!", "?!", "(", ")",
             "def", "return", "\u0301", "\u212b", "\u017f", "x", "Q", "\x00", "\x7f", "\u2028", "zzz", "\u00e9\u00e9",
             "<x>", "[UNK]", "HELLO", "Xe\u0301", "X\u00e9"]


def strings():
    rng = random.Random(99)
    out = ["", " ", "Hello, world!", "The quick brown fox jumps over the lazy dog.", TRAIN_TEXT[:300]]
    out += FRAGMENTS
    for _ in range(400):
        out.append("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 7))))
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


def cases_for(spec_json, texts):
    tok = Tokenizer.from_str(spec_json)
    split = Tokenizer.from_str(spec_json)
    split.encode_special_tokens = True
    bare = json.loads(spec_json)
    bare["added_tokens"] = []
    # Keep the post-processor's special ids resolvable: they are plain ids, so nothing else changes.
    untrusted = Tokenizer.from_str(json.dumps(bare))
    rows = []
    for s in texts:
        ids = tok.encode(s, add_special_tokens=False).ids
        rows.append({
            "text": s,
            "ids": ids,
            "ids_special": tok.encode(s, add_special_tokens=True).ids,
            "untrusted": untrusted.encode(s, add_special_tokens=False).ids,
            "split_special": split.encode(s, add_special_tokens=False).ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(tok.encode(s, add_special_tokens=True).ids, skip_special_tokens=True),
        })
    rng = random.Random(5)
    pairs = []
    for _ in range(40):
        a, b = rng.choice(texts), rng.choice(texts)
        pairs.append({"a": a, "b": b, "ids": tok.encode(a, b, add_special_tokens=False).ids,
                      "ids_special": tok.encode(a, b, add_special_tokens=True).ids})
    return rows, pairs


def dump(name, spec):
    text = json.dumps(spec, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text)
    return text


def main():
    os.makedirs(OUT, exist_ok=True)
    texts = strings()
    files = {}
    base = spec_of(byte_level_tokenizer())
    assert isinstance(base["model"]["merges"][0], list), "expected [left, right] merges from this version"
    files["bytelevel.json"] = dump("bytelevel.json", base)
    legacy = copy.deepcopy(base)
    legacy["model"]["merges"] = [" ".join(m) for m in base["model"]["merges"]]
    files["bytelevel-legacy.json"] = dump("bytelevel-legacy.json", legacy)
    for name, spec in variants(base).items():
        files[name] = dump(name, spec)
    char_bpe = spec_of(char_bpe_tokenizer())
    files["charbpe.json"] = dump("charbpe.json", char_bpe)
    char_bpe["model"]["fuse_unk"] = False  # each unknown character its own [UNK]
    files["charbpe-nofuse.json"] = dump("charbpe-nofuse.json", char_bpe)
    cases = {}
    pairs = {}
    for name, text in files.items():
        cases[name], pairs[name] = cases_for(text, texts)
    # Both merge formats must give the same ids.
    assert cases["bytelevel.json"] == cases["bytelevel-legacy.json"]
    data = json.dumps({"cases": cases, "pairs": pairs}, ensure_ascii=True).encode("ascii")
    with open(os.path.join(OUT, "cases.json.gz"), "wb") as f:
        f.write(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(files)} tokenizers, {len(texts)} strings each -> {OUT}")


if __name__ == "__main__":
    main()
