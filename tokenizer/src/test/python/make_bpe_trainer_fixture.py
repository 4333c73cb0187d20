#!/usr/bin/env python3
"""The reference for BpeTrainerTest: HF tokenizers' BpeTrainer on the committed corpus, with the settings
BpeTrainer (Java) uses, so the test can check the Java trainer's vocabulary, merges and encodings against it.

    python3 -m pip install tokenizers==0.23.2
    python3 tokenizer/src/test/python/make_bpe_trainer_fixture.py

Reads tokenizer/src/test/resources/bpe-trainer/corpus.txt (one training text per line) and writes
tokenizer.json and encodings.json next to it. The components are Qwen3's, as in
reflect/src/test/python/make_toy_tokenizer.py: NFC, the Qwen2 split regex then ByteLevel without its own regex,
a ByteLevel decoder, ChatML specials and Qwen3's non-special added tokens. It writes the same with Llama 3's
split regex (up to three digits in one piece, as the demo judge's tokenizer has it) into bpe-trainer/llama3/.
"""
import json
import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "..", "resources", "bpe-trainer")
VOCAB_SIZE = 400
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")
LLAMA3_SPLIT = QWEN2_SPLIT.replace(r"|\p{N}|", r"|\p{N}{1,3}|")
# Strings the test encodes with both tokenizers (the Java test reads the ids from encodings.json).
PROBES = [
    "What is 17 + 25? Answer: 42.",
    "Response 1 is better than Response 2",
    "<|im_start|>user\nIs 3 larger than 2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nYes",
    "Café naïve e\u0301 数学 Привет 🙂 ∑",
    "unseen words: zebra quixotic jukebox",
    "  leading and trailing spaces  \n\n\ttab",
    "we'll they've I'M YOU'RE",
]


def corpus():
    with open(os.path.join(DIR, "corpus.txt"), encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line]


def train(split, out_dir):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED])
    data = json.loads(tok.to_str())
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
    encodings = [{"text": p, "ids": tok.encode(p).ids} for p in PROBES]
    with open(os.path.join(out_dir, "encodings.json"), "w", encoding="utf-8") as f:
        json.dump(encodings, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(out_dir, tok.get_vocab_size(), "tokens,", len(data["model"]["merges"]), "merges")


def main():
    train(QWEN2_SPLIT, DIR)
    train(LLAMA3_SPLIT, os.path.join(DIR, "llama3"))


if __name__ == "__main__":
    main()
