#!/usr/bin/env python3
"""Agreement of two `judge --input` runs (e.g. a model and its `quantize` copy) on the same pairs:
the share of identical verdicts and of identical analysis texts, and each run's accuracy.

Usage: bench/q8_agreement.py BASE.jsonl QUANTIZED.jsonl
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {(r["id"], r["order"]): r for r in map(json.loads, f)}


def main():
    base, quant = load(sys.argv[1]), load(sys.argv[2])
    keys = sorted(base.keys() & quant.keys())
    if not keys:
        sys.exit("no records in common")
    same_verdict = sum(base[k]["verdict"] == quant[k]["verdict"] for k in keys)
    same_text = sum([r["analysis"] for r in base[k]["rollouts"]] == [r["analysis"] for r in quant[k]["rollouts"]]
                    for k in keys)
    def accuracy(runs):
        labelled = [runs[k] for k in keys if "correct" in runs[k]]
        return 100 * sum(r["correct"] for r in labelled) / max(1, len(labelled))
    print(json.dumps({"records": len(keys), "same_verdict_pct": 100 * same_verdict / len(keys),
                      "same_analysis_pct": 100 * same_text / len(keys),
                      "accuracy_base_pct": accuracy(base), "accuracy_quantized_pct": accuracy(quant)}))


if __name__ == "__main__":
    main()
