#!/usr/bin/env python3
"""Paired bootstrap differences between the systems of a `demo reproduce` run.

    python3 bench/toy_paired.py DIR

Reads DIR/eval/{base-greedy,rft-greedy,unified-greedy,unified-reflect}/judgments.jsonl (the same
held-out pairs judged in both orders by each system) and prints, for unified - base, two-stage -
unified, two-stage - base and unified - RFT, the difference in accuracy and in positional
consistency (right in both orders), in points, with a 95% interval from 2,000 resamples of the
pairs (seeded). Pairs, not judgments, are resampled, since both orders of a pair go together.
"""
import json, random, sys
d = sys.argv[1]
def load(name):
    acc = {}; both = {}
    per = {}
    for line in open(f"{d}/eval/{name}/judgments.jsonl"):
        r = json.loads(line)
        per.setdefault(r["id"], []).append(r["verdict"] == r["label"])
    return {k: (sum(v) / len(v), float(all(v) and len(v) == 2)) for k, v in per.items()}
names = {"base": "base-greedy", "rft": "rft-greedy", "uni": "unified-greedy", "two": "unified-reflect"}
data = {k: load(v) for k, v in names.items()}
ids = sorted(data["base"])
rng = random.Random(0)
def diff(a, b, idx):
    return (sum(data[a][i][idx] - data[b][i][idx] for i in ids) / len(ids)) * 100
for a, b in [("uni", "base"), ("two", "uni"), ("two", "base"), ("uni", "rft")]:
    out = []
    for idx in (0, 1):
        point = diff(a, b, idx)
        boots = []
        for _ in range(2000):
            s = [ids[rng.randrange(len(ids))] for _ in ids]
            boots.append(sum(data[a][i][idx] - data[b][i][idx] for i in s) / len(s) * 100)
        boots.sort()
        out.append(f"{point:+.1f} [{boots[49]:+.1f}, {boots[1949]:+.1f}]")
    print(f"{a} - {b}: accuracy {out[0]}  consistency {out[1]}")
