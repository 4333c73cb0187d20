#!/usr/bin/env python3
"""Builds the Qwen3 tokenizer parity corpus for the Java tests, with ids from Hugging Face `tokenizers`.

Usage:  python3 make_corpus.py [QWEN3_TOKENIZER_DIR]      (default /work/shared/qwen3-tokenizer)
Needs:  pip install tokenizers            (made with tokenizers 0.23.2)

Writes into tokenizer/src/main/resources/org/reflectrm/tokenizer/qwen3/ (the tokenizer bundled in the jar,
Tokenizer.qwen3(); `reflectrm-j init` writes it into random model folders):
  tokenizer.json.gz      the real tokenizer.json, gzip-compressed (mtime 0, so reruns give the same bytes)
  tokenizer_config.json  copied as is
and into tokenizer/src/test/resources/qwen3/:
  corpus.jsonl.gz        one JSON object per line: {"text", "ids", "untrusted", "split_special"}
  decode.jsonl.gz        one JSON object per line: {"ids", "text", "text_skip"}

The three id columns of the corpus:
  ids            tokenizer.encode(text, add_special_tokens=False).ids   (every added token is matched)
  split_special  the same with tokenizer.encode_special_tokens = True   (only special:false ones matched)
  untrusted      a second Tokenizer made from a copy of tokenizer.json whose "added_tokens" list is
                 emptied, so that NO added token is matched. encode_special_tokens=True is not enough for
                 this: HF still matches the non-special added tokens (<think>, <tool_call>, FIM tokens...).
                 The normal vocabulary is untouched, so the ids are what Java's encodeUntrusted must give.

Strings are built deterministically: hand-written groups (scripts, emoji, combining marks, code, every
Unicode space class, control characters, digits, contractions, special-token fragments) plus seeded random
concatenations of tricky fragments and seeded random code-point strings.
"""
import gzip
import io
import json
import os
import random
import shutil
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "qwen3"))
BUNDLED = os.path.normpath(os.path.join(HERE, "..", "..", "main", "resources", "org", "reflectrm", "tokenizer", "qwen3"))

# ----------------------------------------------------------------------------------------------- pieces

SPACES = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x85", "\xa0", "\u1680"] + [chr(c) for c in range(0x2000, 0x200B)] \
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
NOT_SPACES = ["\u200b", "\ufeff", "\u180e", "\u200c", "\u200d", "\u2060", "\x1c", "\x1d", "\x1e", "\x1f"]
CONTROLS = [chr(c) for c in range(0, 0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]

MULTILINGUAL = [
    "你好，世界！今天天气怎么样？我们一起去公园散步吧。",
    "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
    "こんにちは世界。東京は日本の首都です。カタカナとひらがな、そして漢字。",
    "안녕하세요 세계! 한국어 문장입니다. 오늘은 날씨가 좋네요.",
    "مرحبا بالعالم! هذه جملة باللغة العربية مع أرقام ١٢٣٤٥٦٧٨٩٠.",
    "שלום עולם! זהו משפט בעברית עם ניקוד: בְּרֵאשִׁית בָּרָא.",
    "नमस्ते दुनिया! यह हिंदी में एक वाक्य है। संख्याएँ: १२३४५",
    "สวัสดีชาวโลก นี่คือประโยคภาษาไทย ไม่มีช่องว่างระหว่างคำ",
    "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γειά σου Κόσμε! Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΣΊΣΥΦΟΣ ς σ",
    "Բարև աշխարհ։ Გამარჯობა მსოფლიო! ሰላም ልዑል። வணக்கம் உலகம்! ওহে বিশ্ব!",
    "Xin chào thế giới! Tiếng Việt có nhiều dấu: ắ ằ ẳ ẵ ặ ế ề ể ễ ệ.",
    "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy. Árvíztűrő tükörfúrógép.",
    "Straße, Fußgängerübergänge, ÄÖÜ äöü ß ẞ; İstanbul ılık; ǅ ǈ ǋ ǲ titlecase.",
    "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 𐌰𐌱𐌲 𓀀𓀁 𒀀 𠀀𠀁𪚥 𝟘𝟙𝟚",
    "Ꭰ Ꭱ Ꭲ ᚠᚢᚦ ꦄꦏ ᠮᠣᠩᠭᠣᠯ ᏣᎳᎩ ꓐꓑ ᐃᓄᒃᑎᑐᑦ ⵜⴰⵎⴰⵣⵉⵖⵜ",
]
EMOJI = [
    "I love 🦀 and 🍕! 👨‍👩‍👧‍👦",
    "👍🏻👍🏼👍🏽👍🏾👍🏿 👋🏽 🧑🏿‍🚀 👩🏻‍❤️‍💋‍👨🏼",
    "🇺🇸🇬🇧🇯🇵🇨🇳🇫🇷🇩🇪 🇺🇳 🏴󠁧󠁢󠁥󠁮󠁧󠁿 🏴‍☠️ 🏳️‍🌈 🏳️‍⚧️",
    "#️⃣ *️⃣ 0️⃣ 1️⃣ ❤️ ❤ ☺️ ☺ ✌🏾 ©️ ®️ ™️",
    "🙂🙃😉😊😇🥰😍🤩😘😗☺😚😙🥲😋😛😜🤪😝🤑🤗🤭🤫🤔",
    "emoji👨‍💻in😀the🎉middle🚀of words",
    "🫠🫢🫣🫡🫥🫤🥹 🪼🪽🪿🫎 🩷🩵🩶",
]
COMBINING = [
    "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 \u212b \u2126 \u212a",
    "e\u0301\u0302\u0303\u0304 a\u0300\u0301 o\u0308\u0304 u\u031b\u0309",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u0334\u0335\u031c\u0330\u0354L\u0341\u0351\u036b\u034b\u0331G\u0328\u034e\u0330O",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af (decomposed Hangul)",
    "\u0915\u094d\u0937 \u0924\u094d\u0930 \u091c\u094d\u091e \u0936\u094d\u0930 \u0915\u093c",
    "\u05e9\u05c1\u05b8 \u0627\u064e\u0644\u0652 \u0e01\u0e34\u0e4a \u0f40\u0f7a",
    "\u0301leading mark, \u20dd enclosing, \u0345 iota sub, \u1ab0 ext",
    "\uff21\uff22\uff23 \uff41\uff42\uff43 \uff10\uff11\uff12 \u3000fullwidth\uff01",
    "\ufb01le \ufb02ow \ufb00 \u00bd \u00b2 \u2075 \u2460 \u2167 \u3251",
]
CODE = [
    "def add(a, b):\n\treturn a + b\n\n\nprint(add(2, 3))",
    "import numpy as np\n\nclass Model(nn.Module):\n    def __init__(self, d: int = 128) -> None:\n        super().__init__()\n        self.w = nn.Linear(d, d)  # weights\n",
    "public static void main(String[] args) {\n    System.out.println(\"Hello, \" + args[0]);\n}\n",
    "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\r\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
    "const f = async (x) => { await fetch(`/api/${x}`); return x ?? null; };",
    "<html><body><div class=\"a\">Hi &amp; bye</div><!-- c --></body></html>",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%o%' ORDER BY id DESC;",
    "{\"key\": [1, 2.5e-3, true, null], \"nested\": {\"a\": \"b\\u00e9\"}}",
    "for i in $(seq 1 10); do echo \"$i\" | grep -E '^[0-9]+$' >> /tmp/out.txt; done",
    "package main\n\nfunc main() {\n\tfmt.Println(\"héllo\")\n}\n",
    "\\begin{equation} E = mc^2 \\quad \\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2} \\end{equation}",
    "regex: (?i:'s|'t)|[^\\r\\n\\p{L}]?\\p{L}+|\\s+(?!\\S) ;; a->b => c <= d != e == f",
    "    \n\t\n  \r\n    indented()\n\t\t\tdeep\n",
    "x=1;y=22;z=333;w=4444;v=55555;u=666666",
    "https://example.com/path/to/page?query=1&lang=en#section-2 user@example.org",
    "aGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dC4=",
]
DIGITS = [
    "12345 + 67890 = 80235; pi \u2248 3.14159; 1,000,000",
    "0 00 000 0000 1234567890 3.14 -2.5e10 0x1F 0b1010 1_000_000",
    "\u0661\u0662\u0663 \u0967\u0968\u0969 \uff11\uff12\uff13 \u2160\u2161\u2162 \u00b9\u00b2\u00b3 \u2153\u2154 \u2460\u2461",
    "Phone: +1 (555) 123-4567, date 2024-01-31T12:34:56Z, version v1.2.3-rc.4",
    "\U0001d7ce\U0001d7cf \u0e51\u0e52 \u09e7\u09e8 \u0be7\u0be8 \u1040\u1041 \u17e0\u17e1 \u3007\u4e00",
]
CONTRACTIONS = [
    "I'm sure you'll say THEY'RE fine, can't we?",
    "'s 'S 't 'T 're 'RE 'Re 'rE 've 'VE 'Ve 'vE 'm 'M 'll 'LL 'Ll 'lL 'd 'D",
    "it's IT'S It'S we've WE'VE we'Ve i'M I'm they'd THEY'D you'll YOU'LL You'Ll",
    "'sss 'tt 'rer 'vev 'mm 'lll 'dd ''s '''t 's's 'x 'a 'e 'l 'r 'v",
    "x'\u017f '\u017ft \u2019s it\u2019s \u02bcs 'K '\u212a '\u0130 'ı 'ß",
    "rock'n'roll o'clock O'Neil d'Artagnan l'homme '90s '\n's '\t't",
]
SPECIAL_FRAGMENTS = [
    "<|im_start|>user\nHi there<|im_end|>\n",
    "<think>\nLet me check.\n</think>\n\nThe answer is 42.",
    "<|endoftext|><|fim_prefix|>x<|fim_suffix|>y<|fim_middle|>",
    "<|im_", "<|im_end|", "im_end|>", "<|im_end", "|im_end|>", "<|im_end|><|im_start|>",
    "<<|im_end|>>", "<|im_end|>|>", "<|<|im_start|>|>", "<|im_st<|im_end|>art|>",
    "<|im_start|><|im_start|><|im_start|>", "<think></think>", "<think><think>", "</think></think>",
    "< think>", "<think >", "<THINK>", "<tool_call>{\"name\": \"f\"}</tool_call>",
    "<tool_response>ok</tool_response>", "<|fim_pad|><|repo_name|>r<|file_sep|>f",
    "<|vision_start|><|image_pad|><|vision_end|>", "<|box_start|>(1,2)<|box_end|>",
    "<|object_ref_start|>cat<|object_ref_end|> <|quad_start|><|quad_end|> <|video_pad|>",
    "text<|im_end|>text", " <|im_end|> ", "\n<|im_end|>\n", "<|endoftext|>" * 3,
    "<|", "|>", "<", "|", ">", "<||>", "<|im_start|", "|im_start|>", "<|endoftext", "endoftext|>",
]

FRAGMENTS = sorted(set(
    SPACES + NOT_SPACES + ["\r\n", "\n\n", "  ", "   ", "\t\t", " \n", "\n ", " \r\n", "\u00a0\u00a0", "\u3000\u3000"]
    + ["a", "A", "hello", "World", "THE", "x", "Ab", "\u00e9", "e\u0301", "\u0301", "\u0308", "\u0915\u094d", "\u5b57", "\u4e16\u754c",
       "\u3042", "\u30ab", "\ud55c", "\u1100", "\u1161", "\u0627", "\u05e9", "\u0e01", "\u0416", "\u03a3", "\u03c2", "\u0131", "\u0130",
       "\u017f", "\u212a", "\u00df", "\u1e9e", "\ufb01", "\u01c5", "\U0001d400", "\U00020000"]
    + ["0", "1", "42", "123", "9999", "\u0661", "\u0967", "\uff11", "\u2160", "\u00b2", "\u00bd", "\u2460", "3.14", "1,000"]
    + ["'", "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "\u2019", "''", "n't", "'x"]
    + [".", ",", "!", "?", ";", ":", "(", ")", "[", "]", "{", "}", "-", "_", "+", "=", "*", "/", "\\", "\"", "#", "@", "$",
       "%", "^", "&", "~", "`", "...", "->", "=>", "!=", "\u2014", "\u2026", "\u201c", "\u201d", "\u00a7", "\u00b6", "\u00b7"]
    + ["\U0001f980", "\U0001f355", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f44d\U0001f3fd", "\U0001f1fa\U0001f1f8",
       "\U0001f1fa", "\U0001f3fb", "\u200d", "\ufe0f", "\u2764\ufe0f", "#\ufe0f\u20e3", "\U0001f3f4\U000e0067\U000e0062\U000e007f"]
    + ["\x00", "\x01", "\x1b", "\x7f", "\x80", "\x9f", "\ue000", "\uffff", "\ufffd", "\U0010ffff", "\u0378", "\U000e0001"]
    + ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
       "<|fim_prefix|>", "<|im_", "_end|>", "<|", "|>", "im_start", "<", ">", "|"]
    + ["def", " def", "return", "\treturn", "():", "{}", "//", "/*", "*/", "<div>", "</div>", "http://", ".com"]
))

# Code-point pools for random strings (assigned characters only, Unicode <= 15).
POOLS = [
    (30, [chr(c) for c in range(0x20, 0x7F)]),
    (8, SPACES + NOT_SPACES),
    (4, CONTROLS),
    (6, [chr(c) for c in range(0xA1, 0x250) if c != 0xAD]),
    (4, [chr(c) for c in range(0x300, 0x370)]),
    (4, [chr(c) for c in range(0x391, 0x3CA)] + [chr(c) for c in range(0x410, 0x450)]),
    (3, [chr(c) for c in range(0x5D0, 0x5EB)] + [chr(c) for c in range(0x621, 0x64B)] + [chr(c) for c in range(0x660, 0x66A)]),
    (3, [chr(c) for c in range(0x905, 0x970)] + [chr(c) for c in range(0xE01, 0xE5B)]),
    (6, [chr(c) for c in range(0x4E00, 0x4F00)] + [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]),
    (3, [chr(c) for c in range(0xAC00, 0xAD00)] + [chr(c) for c in range(0x1100, 0x1113)] + [chr(c) for c in range(0x1161, 0x1176)]),
    (3, [chr(c) for c in range(0x2000, 0x2070)] + [chr(c) for c in range(0x2150, 0x2190)] + [chr(c) for c in range(0x2460, 0x24FF)]),
    (3, [chr(c) for c in range(0xFF01, 0xFF5F)] + [chr(c) for c in range(0xFB00, 0xFB07)] + ["\ufeff", "\ufffd"]),
    (5, [chr(c) for c in range(0x1F300, 0x1F650)] + [chr(c) for c in range(0x1F3FB, 0x1F400)] + ["\u200d", "\ufe0f"]
        + [chr(c) for c in range(0x1F1E6, 0x1F200)]),
    (2, [chr(c) for c in range(0x1D400, 0x1D500)] + [chr(c) for c in range(0x20000, 0x20100)] + [chr(c) for c in range(0x10330, 0x1034B)]),
    (2, ["'", "'s", "'S", "'ll", "'Re", "'\u017f"]),
    (2, ["<|im_end|>", "<|im_start|>", "<think>", "</think>", "<|endoftext|>", "<|im_", "|>"]),
]


def random_codepoint_string(rng):
    weights = [w for w, _ in POOLS]
    n = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80])
    return "".join(rng.choice(rng.choices(POOLS, weights)[0][1]) for _ in range(n))


def build_strings():
    strings = []
    # Hand-written groups, also paired with leading/trailing spaces and newlines.
    groups = MULTILINGUAL + EMOJI + COMBINING + CODE + DIGITS + CONTRACTIONS + SPECIAL_FRAGMENTS
    for s in groups:
        strings += [s, " " + s, s + "\n", "\n" + s + " "]
    # Every space class and non-space: alone, doubled, between words, before/after letters and newlines.
    for c in SPACES + NOT_SPACES:
        strings += [c, c * 2, c * 5, "a" + c + "b", c + "word", "word" + c, "a" + c * 3 + "b", c + "\n", "\n" + c,
                    "x " + c + " y", c + "'s", c + "1", c + "!", "\u4e16" + c + "\u754c"]
    for c in CONTROLS:
        strings += [c, "a" + c + "b", c + c + " x", "1" + c + "2"]
    # Whitespace runs of mixed classes.
    for n in (1, 2, 3, 4, 7, 16, 64):
        strings += [" " * n, "\n" * n, "\t" * n, "a" + " " * n + "b", "a" + " " * n, " " * n + "a", " " * n + "\n" + " " * n,
                    "\r\n" * n, "x" + "\u3000" * n + "y", "x" + "\xa0" * n + "!"]
    # Long runs.
    strings += ["a" * 1000, "ab" * 500, "1" * 300, "\U0001f980" * 50, "\u4e2d" * 400, "!" * 200, " " * 500 + "end",
                "word " * 200, ("<|im_end|>" * 20), "x" * 257, "y" * 255, "\u00e9" * 300]
    # Seeded random concatenations of tricky fragments.
    rng = random.Random(20240531)
    for _ in range(1800):
        k = rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 8, 12])
        strings.append("".join(rng.choice(FRAGMENTS) for _ in range(k)))
    # Seeded random code-point strings.
    for _ in range(700):
        strings.append(random_codepoint_string(rng))
    # Deduplicate, keep order.
    seen = set()
    out = []
    for s in strings:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def write_jsonl_gz(path, rows):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=True) + "\n").encode("ascii"))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/qwen3-tokenizer"
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(BUNDLED, exist_ok=True)
    with open(os.path.join(src, "tokenizer.json"), "rb") as f:
        raw = f.read()
    with open(os.path.join(BUNDLED, "tokenizer.json.gz"), "wb") as f:
        f.write(gzip.compress(raw, compresslevel=9, mtime=0))
    shutil.copyfile(os.path.join(src, "tokenizer_config.json"), os.path.join(BUNDLED, "tokenizer_config.json"))

    tok = Tokenizer.from_str(raw.decode("utf-8"))
    split_special = Tokenizer.from_str(raw.decode("utf-8"))
    split_special.encode_special_tokens = True
    spec = json.loads(raw)
    spec["added_tokens"] = []
    untrusted = Tokenizer.from_str(json.dumps(spec))

    strings = build_strings()
    rows = []
    for s in strings:
        rows.append({
            "text": s,
            "ids": tok.encode(s, add_special_tokens=False).ids,
            "untrusted": untrusted.encode(s, add_special_tokens=False).ids,
            "split_special": split_special.encode(s, add_special_tokens=False).ids,
        })
    write_jsonl_gz(os.path.join(OUT, "corpus.jsonl.gz"), rows)

    # Decode vectors: random id sequences mixing single-byte tokens (so UTF-8 is often cut or invalid),
    # ordinary tokens and added tokens; HF's decode with and without skip_special_tokens.
    vocab = tok.get_vocab(with_added_tokens=True)
    byte_chars = byte_level_chars()
    byte_ids = [vocab[c] for c in byte_chars]
    added_ids = sorted(i for i in vocab.values() if i >= 151643)
    rng = random.Random(7)
    decode_rows = []
    for _ in range(600):
        ids = []
        for _ in range(rng.randint(0, 12)):
            r = rng.random()
            if r < 0.5:
                ids.append(rng.choice(byte_ids))
            elif r < 0.85:
                ids.append(rng.randrange(0, 151643))
            else:
                ids.append(rng.choice(added_ids))
        decode_rows.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                            "text_skip": tok.decode(ids, skip_special_tokens=True)})
    write_jsonl_gz(os.path.join(OUT, "decode.jsonl.gz"), decode_rows)
    print(f"{len(rows)} corpus strings, {len(decode_rows)} decode vectors -> {OUT}")


def byte_level_chars():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = {}
    n = 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return [chars[b] for b in range(256)]


if __name__ == "__main__":
    main()
