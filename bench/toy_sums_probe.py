#!/usr/bin/env python3
"""A diagnostic of a toy judge on one-digit sums: where its analyses go wrong.

    python3 bench/toy_sums_probe.py pairs > sums.jsonl
    reflectrm-j judge --model DIR --input sums.jsonl --output judged.jsonl --mode greedy --batch-pairs 16
    python3 bench/toy_sums_probe.py report judged.jsonl

`pairs` writes every a+b (a, b in 0..9) against each distractor kind the toy domain draws (+1, -1,
+2, -2, +10 and the digits swapped), in both orders: 1,066 pairs. `report` reads the judged
analyses (`7+5=12; R1 says 12 (yes), R2 says 13 (no); R1 is right.`) and prints, per distractor
kind: accuracy; how often the working is right; how often both marks agree with the working; how
often the verdict follows the marks; and how often a right working still gets wrong marks. It
reads the format docs/toy-world.md describes (with or without a restated ` vs N` before a mark).
"""
import collections
import json
import re
import sys

KINDS = [("+1", 1), ("-1", -1), ("+2", 2), ("-2", -2), ("+10", 10), ("sw", None)]
ANALYSIS = re.compile(r"(\d+)\+(\d+)=(-?\d+); R1 says (-?\d+)(?: vs -?\d+)? \((yes|no)\), "
                      r"R2 says (-?\d+)(?: vs -?\d+)? \((yes|no)\); R(\d) is right")


def pairs():
    for a in range(10):
        for b in range(10):
            s = a + b
            for kind, delta in KINDS:
                d = (int(str(s)[::-1]) if s >= 10 else None) if delta is None else s + delta
                if d is None or d < 0 or d == s:
                    continue
                for order in (0, 1):
                    ra, rb = (s, d) if order == 0 else (d, s)
                    print(json.dumps({"id": f"{a}+{b}|{kind}|{order}", "prompt": f"What is {a}+{b}?",
                                      "response_a": str(ra), "response_b": str(rb)}))


def report(path):
    stats = collections.defaultdict(collections.Counter)
    for line in open(path):
        r = json.loads(line)
        question, kind, order = r["id"].split("|")
        x, y = map(int, question.split("+"))
        c = stats[kind]
        c["n"] += 1
        c["correct"] += r["verdict"] == ("A" if order == "0" else "B")
        m = ANALYSIS.match(r["rollouts"][0]["analysis"] or "")
        if not m:
            c["unparsed"] += 1
            continue
        work = int(m.group(3))
        v1, m1, v2, m2, winner = int(m.group(4)), m.group(5), int(m.group(6)), m.group(7), m.group(8)
        consistent = (m1 == "yes") == (v1 == work) and (m2 == "yes") == (v2 == work)
        c["work_ok"] += work == x + y
        c["marks_consistent"] += consistent
        c["verdict_follows_marks"] += (m1 == "yes" and winner == "1") or (m2 == "yes" and winner == "2")
        c["right_work_wrong_marks"] += work == x + y and not consistent
    total = collections.Counter()
    for c in stats.values():
        total.update(c)
    print("kind      n  accuracy  working right  marks agree  verdict follows  right working, wrong marks")
    for kind, c in sorted(stats.items()) + [("all", total)]:
        n = c["n"]
        print(f"{kind:4} {n:6}  {c['correct'] / n:8.3f}  {c['work_ok'] / n:13.3f}  {c['marks_consistent'] / n:11.3f}"
              f"  {c['verdict_follows_marks'] / n:15.3f}  {c['right_work_wrong_marks'] / n:26.3f}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "pairs":
        pairs()
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
