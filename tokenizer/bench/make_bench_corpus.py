#!/usr/bin/env python3
"""Writes a deterministic mixed-language benchmark corpus (~10 MB of UTF-8) as JSON lines, one string each.

Usage: python3 make_bench_corpus.py OUT.jsonl [MEGABYTES]

The mix aims at what a reward model reads: English prose (Zipf-distributed words), source code, Chinese and
Japanese, other scripts (Cyrillic, Arabic, Devanagari, Greek, Korean), numbers, markup, emoji, chat markup with
special tokens, and whitespace-heavy text. Everything comes from a fixed seed, so every machine gets the same bytes.
"""
import json
import random
import sys

ENGLISH = """the of and to a in is it you that he was for on are with as I his they be at one have this from or had
by hot word but what some we can out other were all there when up use your how said an each she which do their time
if will way about many then them write would like so these her long make thing see him two has look more day could go
come did number sound no most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every good me give our under name
very through just form sentence great think say help low line differ turn cause much mean before move right boy old too
same tell does set three want air well also play small end put home read hand port large spell add even land here must
big high such follow act why ask men change went light kind off need house picture try us again animal point mother
world near build self earth father head stand own page should country found answer school grow study still learn plant
cover food sun four between state keep eye never last let thought city tree cross farm hard start might story saw far
sea draw left late run don't while press close night real life few north open seem together next white children begin
got walk example ease paper group always music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face wood
main enough plain girl usual young ready above ever red list though feel talk bird soon body dog family direct pose
leave song measure door product black short numeral class wind question happen complete ship area half rock order fire
south problem piece told knew pass since top whole king space heard best hour better true during hundred five remember
step early hold west ground interest reach fast verb sing listen six table travel less morning ten simple several vowel
toward war lay against pattern slow center love person money serve appear road map rain rule govern pull cold notice
voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct
able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean warm free minute
strong special mind behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object
decide surface deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh
thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill east paint language among
model response reward judge evaluate reasoning answer correct helpful harmless assistant user prompt""".split()

CODE_TEMPLATES = [
    "def {f}({a}, {b}):\n    \"\"\"{doc}.\"\"\"\n    if {a} is None:\n        return {b}\n    result = [{a} * i for i in range({n})]\n    return sum(result) + {b}\n\n",
    "public static int {f}(int[] {a}, int {b}) {{\n    int total = 0;\n    for (int i = 0; i < {a}.length; i++) {{\n        total += {a}[i] * {b};\n    }}\n    return total; // {doc}\n}}\n",
    "fn {f}({a}: &[u32], {b}: usize) -> Option<u32> {{\n    {a}.iter().skip({b}).take({n}).copied().max()\n}}\n",
    "const {f} = async ({a}, {b}) => {{\n  const res = await fetch(`/api/${{{a}}}?limit={n}`);\n  if (!res.ok) throw new Error(\"{doc}\");\n  return (await res.json()).{b};\n}};\n",
    "SELECT {a}, COUNT(*) AS n FROM {f} WHERE {b} > {n} GROUP BY {a} ORDER BY n DESC;\n",
    "<div class=\"{f}\">\n  <span id=\"{a}\">{doc}</span>\n  <a href=\"https://example.com/{b}?page={n}\">link</a>\n</div>\n",
    "{{\"{f}\": {{\"{a}\": [{n}, {n}.5, true, null], \"{b}\": \"{doc}\"}}}}\n",
]

CJK_COMMON = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从"
JAPANESE = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテト"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
DEVANAGARI = "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह"
GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
HANGUL = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호"
EMOJI = ["😀", "😂", "🥲", "👍", "👍🏽", "🙏", "🎉", "🚀", "🦀", "❤️", "👨‍👩‍👧", "🇺🇸", "✨", "🔥", "✅"]


ZIPF_WEIGHTS = [1.0 / (rank + 10) for rank in range(len(ENGLISH))]
CUMULATIVE = []
for _w in ZIPF_WEIGHTS:
    CUMULATIVE.append((CUMULATIVE[-1] if CUMULATIVE else 0.0) + _w)


def zipf_word(rng):
    return rng.choices(ENGLISH, cum_weights=CUMULATIVE)[0]


def english(rng):
    sentences = []
    for _ in range(rng.randint(3, 12)):
        words = [zipf_word(rng) for _ in range(rng.randint(5, 25))]
        words[0] = words[0].capitalize()
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), str(rng.randint(0, 99999)))
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words)), rng.choice(["it's", "don't", "we'll", "they're", "I'm", "you've"]))
        sentences.append(" ".join(words) + rng.choice([".", ".", ".", "?", "!", ";", ":"]))
    return " ".join(sentences) + rng.choice(["\n", "\n\n", " "])


def code(rng):
    out = []
    for _ in range(rng.randint(1, 4)):
        t = rng.choice(CODE_TEMPLATES)
        out.append(t.format(f=zipf_word(rng) + "_" + zipf_word(rng), a=zipf_word(rng).replace("'", ""),
                            b=zipf_word(rng).replace("'", "") + "2", n=rng.randint(0, 1000),
                            doc=" ".join(zipf_word(rng) for _ in range(6))))
    return "".join(out)


LEXICONS = {}


def lexicon(alphabet, word):
    """A fixed vocabulary of 500 made-up words per script: real text repeats its words, random letters do not."""
    key = (alphabet, word)
    if key not in LEXICONS:
        lex_rng = random.Random(alphabet)
        LEXICONS[key] = ["".join(lex_rng.choice(alphabet) for _ in range(lex_rng.randint(*word))) for _ in range(500)]
    return LEXICONS[key]


def script_text(rng, alphabet, spaces=True, word=(2, 8)):
    lex = lexicon(alphabet, word)
    words = [lex[min(int(rng.paretovariate(0.7)) - 1, len(lex) - 1)] for _ in range(rng.randint(10, 60))]
    sep = " " if spaces else ""
    return sep.join(words) + rng.choice(["。", ".", "!", "?", "\n"])


def cjk(rng):
    pool = CJK_COMMON if rng.random() < 0.7 else JAPANESE + CJK_COMMON
    text = []
    for _ in range(rng.randint(2, 8)):
        text.append("".join(rng.choice(pool) for _ in range(rng.randint(8, 40))))
        text.append(rng.choice(["，", "。", "！", "？", "、", "\n"]))
    return "".join(text)


def misc(rng):
    parts = []
    for _ in range(rng.randint(3, 15)):
        r = rng.random()
        if r < 0.3:
            parts.append(f"{rng.randint(0, 10**9)} {rng.random() * 1000:.4f} {rng.randint(1, 12)}/{rng.randint(1, 28)}/2024")
        elif r < 0.5:
            parts.append(" " * rng.randint(1, 16) + "\t" * rng.randint(0, 3) + "\n" * rng.randint(0, 3))
        elif r < 0.7:
            parts.append(" ".join(rng.choice(EMOJI) + zipf_word(rng) for _ in range(rng.randint(1, 6))))
        elif r < 0.85:
            parts.append("<|im_start|>" + rng.choice(["user", "assistant", "system"]) + "\n" + english(rng) + "<|im_end|>\n")
        else:
            parts.append("<think>\n" + english(rng) + "</think>\n\n")
    return " ".join(parts)


KINDS = [
    (50, english), (20, code), (10, cjk),
    (3, lambda r: script_text(r, CYRILLIC)), (2, lambda r: script_text(r, ARABIC)),
    (2, lambda r: script_text(r, DEVANAGARI)), (2, lambda r: script_text(r, GREEK)),
    (1, lambda r: script_text(r, HANGUL, word=(1, 4))), (10, misc),
]


def main():
    out = sys.argv[1]
    megabytes = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    rng = random.Random(42)
    target = int(megabytes * 1_000_000)
    total = 0
    weights = [w for w, _ in KINDS]
    with open(out, "w", encoding="utf-8") as f:
        while total < target:
            parts = []
            for _ in range(rng.randint(1, 4)):
                parts.append(rng.choices(KINDS, weights)[0][1](rng))
            s = "".join(parts)
            total += len(s.encode("utf-8"))
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(f"wrote {total / 1e6:.2f} MB to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
