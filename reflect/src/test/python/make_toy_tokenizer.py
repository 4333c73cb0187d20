#!/usr/bin/env python3
"""A 512-token byte-level BPE in Qwen3's tokenizer.json format, for GRPO tests on a model small enough to train
in seconds (a 151,936-row output layer makes every step of a tiny model slow).

    python3 -m pip install tokenizers
    python3 reflect/src/test/python/make_toy_tokenizer.py

Writes reflect/src/test/resources/toy-tokenizer/tokenizer.json (made with tokenizers 0.23.2) and a
tokenizer_config.json with Qwen3's chat template, so a model folder with both is a complete judge. The components are
Qwen3's: NFC, the Qwen2 split regex (single digits) then ByteLevel without its own regex, a ByteLevel decoder,
ChatML specials (<|endoftext|>, <|im_start|>, <|im_end|>) and Qwen3's non-special added tokens (<think>, <tool_call>,
<tool_response> and their closing tags), which the chat template asks for. The BPE
is trained on the bundled v1 judge templates filled with short toy pairs and the verdict sentences, so a judge
prompt is ~100 tokens. Deterministic: the same tokenizers version gives the same file.
"""
import json
import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..")
TEMPLATES = os.path.join(ROOT, "model", "src", "main", "resources", "org", "reflectrm", "model", "judge", "templates", "v1")
OUT = os.path.join(HERE, "..", "resources", "toy-tokenizer", "tokenizer.json")
QWEN3_CONFIG = os.path.join(ROOT, "tokenizer", "src", "main", "resources", "org", "reflectrm", "tokenizer", "qwen3",
                            "tokenizer_config.json")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")


def corpus():
    texts = []
    for name in sorted(os.listdir(TEMPLATES)):
        with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
            texts.append(f.read())
    for noun in ("Response", "Critique"):
        for w in (1, 2):
            texts.append(f"<Analysis>ok</Analysis>\n<Result>{noun} {w} is better than {noun} {3 - w}</Result>")
    for i in range(200):
        texts.append(f"Is {i} a number? yes no. What is {i % 10}+{i % 7}? {i % 10 + i % 7}")
    texts.append("<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    return texts * 3


def main():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    # The chat template asks for Qwen3's non-special added tokens by name.
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in
                    ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    data = json.loads(tok.to_str())
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
    # tokenizer_config.json: Qwen3's chat template and special-token names, with this vocabulary's added tokens.
    with open(QWEN3_CONFIG, encoding="utf-8") as f:
        qwen3 = json.load(f)
    config = {k: qwen3[k] for k in ("add_bos_token", "add_prefix_space", "bos_token", "chat_template",
                                     "clean_up_tokenization_spaces", "eos_token", "errors", "pad_token",
                                     "split_special_tokens", "tokenizer_class", "unk_token")}
    config["model_max_length"] = 1024
    config["additional_special_tokens"] = ["<|im_start|>", "<|im_end|>"]
    config["added_tokens_decoder"] = {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in data["added_tokens"]}
    with open(os.path.join(os.path.dirname(OUT), "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    print(OUT, tok.get_vocab_size(), "tokens;", len(tok.encode(corpus()[0]).ids), "tokens for the first template")


if __name__ == "__main__":
    main()
